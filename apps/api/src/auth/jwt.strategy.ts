import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { ExtractJwt, Strategy } from 'passport-jwt';
import { ServerSecrets } from '../config/config.module.js';
import type { AccessTokenClaims, AuthUser } from './auth-user.js';
import { AuthService } from './auth.service.js';

/** Audience and issuer of DevPocket access tokens (RFC 7519 §4.1.1, §4.1.3). */
export const ACCESS_TOKEN_AUDIENCE = 'devpocket-api';
export const ACCESS_TOKEN_ISSUER = 'devpocket';

/**
 * How every access token is verified, by the HTTP strategy here and by the sockets'
 * AuthService.authenticate alike: HS256 only (no `alg: none`, no algorithm confusion), audience
 * and issuer checked.
 */
export const ACCESS_TOKEN_VERIFY = { algorithms: ['HS256' as const], audience: ACCESS_TOKEN_AUDIENCE, issuer: ACCESS_TOKEN_ISSUER };

/**
 * passport-jwt strategy for `Authorization: Bearer <accessToken>`: HS256 only (no `alg: none`,
 * no algorithm confusion), audience and issuer checked, then the live account loaded.
 */
@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, 'jwt') {
  constructor(
    secrets: ServerSecrets,
    private readonly auth: AuthService,
  ) {
    super({
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
      // passport-jwt hands the key to jsonwebtoken, which takes a KeyObject; its typings say string | Buffer.
      secretOrKey: secrets.jwtKey as unknown as Buffer,
      ...ACCESS_TOKEN_VERIFY,
      ignoreExpiration: false,
    });
  }

  validate(claims: AccessTokenClaims): Promise<AuthUser> {
    return this.auth.userFromClaims(claims);
  }
}
