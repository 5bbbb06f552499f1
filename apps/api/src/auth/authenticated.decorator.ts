import { applyDecorators, createParamDecorator, ExecutionContext, Injectable, SetMetadata, UseGuards, type CanActivate } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import { ApiBearerAuth, ApiForbiddenResponse, ApiUnauthorizedResponse } from '@nestjs/swagger';
import type { Request } from 'express';
import { assertKeyScopes, requiredKeyScopes, type ApiKeyScope } from '../api-keys/api-key-scopes.js';
import { API_KEY_PREFIX } from '../api-keys/api-keys.service.js';
import { DomainException, ErrorCode } from '../common/domain.exception.js';
import type { AuthUser } from './auth-user.js';
import { AuthService } from './auth.service.js';

const ADMIN_ONLY = 'devpocket:admin-only';
const KEY_SCOPES = 'devpocket:key-scopes';

/** The API key of a request: `X-API-Key`, or an `Authorization: Bearer dpk_…`; undefined when there is none. */
function apiKeyOf(request: Request): string | undefined {
  const header = request.headers['x-api-key'];
  if (typeof header === 'string') return header;
  const bearer = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1];
  return bearer?.startsWith(API_KEY_PREFIX) ? bearer : undefined;
}

/**
 * Authenticates the caller: an API key (`X-API-Key`, or `Authorization: Bearer dpk_…`) through
 * {@link AuthService.authenticateApiKey}, any other bearer access token with the passport-jwt
 * strategy. Any failure is 401 UNAUTHORIZED.
 */
@Injectable()
export class JwtAuthGuard extends AuthGuard('jwt') {
  constructor(private readonly auth: AuthService) {
    super();
  }

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<Request & { user?: AuthUser }>();
    const apiKey = apiKeyOf(request);
    if (apiKey === undefined) return (await super.canActivate(context)) as boolean;
    request.user = await this.auth.authenticateApiKey(apiKey);
    return true;
  }

  override handleRequest<TUser = AuthUser>(error: unknown, user: TUser | false): TUser {
    if (error instanceof DomainException) throw error;
    if (error || !user) throw new DomainException(ErrorCode.UNAUTHORIZED, 'A valid access token is required');
    return user;
  }
}

/**
 * Refuses non-admins on routes marked `@Authenticated({ admin: true })`, and API keys without
 * the scopes of the route (`@RequireScopes`, `@Authenticated({ scopes })`; `admin` on admin
 * routes; no key at all on routes that name no scope), with 403 FORBIDDEN.
 */
@Injectable()
export class RolesGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    const targets = [context.getHandler(), context.getClass()];
    const adminOnly = this.reflector.getAllAndOverride<boolean>(ADMIN_ONLY, targets);
    const scopes = this.reflector.getAllAndOverride<ApiKeyScope[] | undefined>(KEY_SCOPES, targets);
    const user = context.switchToHttp().getRequest<{ user?: AuthUser }>().user;
    if (adminOnly && user?.role !== 'admin') throw new DomainException(ErrorCode.FORBIDDEN, 'This action needs an admin');
    if (!user) throw new DomainException(ErrorCode.UNAUTHORIZED, 'A valid access token is required');
    assertKeyScopes(user, requiredKeyScopes({ admin: adminOnly, scopes }));
    return true;
  }
}

/**
 * Requires a signed-in caller (and an admin with `{ admin: true }`), documented in OpenAPI.
 * `scopes` are what an API key needs here (see {@link RequireScopes}); without them, and
 * without `admin`, only access tokens are accepted.
 */
export function Authenticated(options: { admin?: boolean; scopes?: ApiKeyScope[] } = {}): ClassDecorator & MethodDecorator {
  return applyDecorators(
    SetMetadata(ADMIN_ONLY, options.admin ?? false),
    ...(options.scopes ? [RequireScopes(...options.scopes)] : []),
    UseGuards(JwtAuthGuard, RolesGuard),
    ApiBearerAuth(),
    ApiUnauthorizedResponse({ description: 'No or invalid access token or API key' }),
    ...(options.admin ? [ApiForbiddenResponse({ description: 'Not an admin, or an API key without the admin scope' })] : []),
  );
}

/**
 * The scopes an API key needs to call a route (method or controller; the method's win). Access
 * tokens are not concerned. Needs {@link Authenticated} on the route or its controller.
 */
export function RequireScopes(...scopes: ApiKeyScope[]): ClassDecorator & MethodDecorator {
  return applyDecorators(SetMetadata(KEY_SCOPES, scopes), ApiForbiddenResponse({ description: `An API key without ${scopes.join(' and ')}` }));
}

/** The signed-in caller of the request. */
export const CurrentUser = createParamDecorator((_data: unknown, context: ExecutionContext): AuthUser => {
  return context.switchToHttp().getRequest<{ user: AuthUser }>().user;
});
