import { Global, Module } from '@nestjs/common';
import { JwtModule } from '@nestjs/jwt';
import { PassportModule } from '@nestjs/passport';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ApiKeysModule } from '../api-keys/api-keys.module.js';
import { AppConfig } from '../config/app-config.js';
import { ServerSecrets } from '../config/config.module.js';
import { UsersModule } from '../users/users.module.js';
import { AuthController } from './auth.controller.js';
import { AuthService } from './auth.service.js';
import { JwtAuthGuard, RolesGuard } from './authenticated.decorator.js';
import { ACCESS_TOKEN_AUDIENCE, ACCESS_TOKEN_ISSUER, ACCESS_TOKEN_VERIFY, JwtStrategy } from './jwt.strategy.js';
import { PasswordHasher } from './password-hasher.js';
import { RefreshTokenEntity } from './refresh-token.entity.js';
import { RefreshTokensRepository } from './refresh-tokens.repository.js';

/** Sign-up, sign-in and tokens. Global so every feature can use `@Authenticated()`. */
@Global()
@Module({
  imports: [
    UsersModule,
    ApiKeysModule,
    PassportModule,
    TypeOrmModule.forFeature([RefreshTokenEntity]),
    JwtModule.registerAsync({
      inject: [AppConfig, ServerSecrets],
      useFactory: (config: AppConfig, secrets: ServerSecrets) => ({
        secret: secrets.jwtKey,
        signOptions: { algorithm: 'HS256', expiresIn: config.JWT_ACCESS_TTL, audience: ACCESS_TOKEN_AUDIENCE, issuer: ACCESS_TOKEN_ISSUER },
        verifyOptions: ACCESS_TOKEN_VERIFY,
      }),
    }),
  ],
  controllers: [AuthController],
  providers: [AuthService, PasswordHasher, RefreshTokensRepository, JwtStrategy, JwtAuthGuard, RolesGuard],
  exports: [AuthService, PasswordHasher, JwtAuthGuard, RolesGuard],
})
export class AuthModule {}
