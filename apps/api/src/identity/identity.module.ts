import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { UsersModule } from '../users/users.module.js';
import { AccountEmailController } from './account-email.controller.js';
import { EmailTokenEntity } from './email-token.entity.js';
import { EmailTokensRepository } from './email-tokens.repository.js';
import { EmailVerificationService } from './email-verification.service.js';
import { GoogleIdTokenVerifier } from './google-id-token.verifier.js';
import { GoogleSignInController } from './google-sign-in.controller.js';
import { GoogleSignInService } from './google-sign-in.service.js';
import { GoogleWebSignIn } from './google-web-sign-in.js';
import { Mailer } from './mailer.js';
import { PasswordResetService } from './password-reset.service.js';
import { UserIdentityEntity } from './user-identity.entity.js';
import { UserIdentitiesRepository } from './user-identities.repository.js';

/** Identity beyond passwords: Google sign-in (ID token and browser flow), email verification and password reset by mail. */
@Module({
  imports: [UsersModule, TypeOrmModule.forFeature([UserIdentityEntity, EmailTokenEntity])],
  controllers: [GoogleSignInController, AccountEmailController],
  providers: [
    GoogleIdTokenVerifier,
    GoogleWebSignIn,
    GoogleSignInService,
    UserIdentitiesRepository,
    EmailTokensRepository,
    Mailer,
    EmailVerificationService,
    PasswordResetService,
  ],
  exports: [Mailer],
})
export class IdentityModule {}
