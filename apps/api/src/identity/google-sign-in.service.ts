import { randomBytes } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import type { Request } from 'express';
import { AuthService } from '../auth/auth.service.js';
import type { AuthResultDto } from '../auth/dto/auth.dto.js';
import { DomainException, ErrorCode } from '../common/domain.exception.js';
import { violatedUniqueConstraint } from '../common/postgres-errors.js';
import { AppConfig } from '../config/app-config.js';
import type { UserEntity } from '../users/user.entity.js';
import { UsersRepository } from '../users/users.repository.js';
import { GoogleIdTokenVerifier, type GoogleAccount } from './google-id-token.verifier.js';
import { GoogleWebSignIn } from './google-web-sign-in.js';
import { UserIdentitiesRepository } from './user-identities.repository.js';

const USERNAME_ATTEMPTS = 5;

/**
 * A username for a new Google account from its email's local part: lower-case a–z, 0–9, `_`, `-`,
 * starting with a letter or digit, 3–32 characters (USERNAME_PATTERN); `suffix` makes it unique.
 */
export function usernameFromEmail(email: string, suffix = ''): string {
  let base = email.split('@')[0].toLowerCase().replace(/[^a-z0-9_-]/g, '').replace(/^[_-]+/, '');
  if (base.length < 3) base = `user${base}`;
  return `${base.slice(0, 32 - suffix.length)}${suffix}`;
}

/**
 * Google sign-in, from a mobile app's ID token or the browser redirect flow, with one set of
 * account rules: a known Google subject signs in its account; otherwise an account with the same
 * email is linked only when Google vouches for the email (`email_verified`), else the request is
 * refused with 409 GOOGLE_EMAIL_UNVERIFIED; otherwise a new account without a password is created.
 */
@Injectable()
export class GoogleSignInService {
  private readonly logger = new Logger(GoogleSignInService.name);

  constructor(
    private readonly config: AppConfig,
    private readonly auth: AuthService,
    private readonly users: UsersRepository,
    private readonly identities: UserIdentitiesRepository,
    private readonly idTokens: GoogleIdTokenVerifier,
    private readonly web: GoogleWebSignIn,
  ) {}

  /**
   * Signs in with a Google ID token.
   * @throws DomainException INVALID_ID_TOKEN (401), GOOGLE_EMAIL_UNVERIFIED (409), ACCOUNT_DISABLED (401),
   *   GOOGLE_SIGN_IN_NOT_CONFIGURED (404), SERVICE_UNAVAILABLE (503) when Google's keys cannot be fetched
   */
  async signInWithIdToken(idToken: string): Promise<AuthResultDto> {
    return this.signIn(await this.idTokens.verify(idToken));
  }

  /**
   * The consent page URL that starts the browser flow (the state cookie is set on the response).
   * @throws DomainException GOOGLE_SIGN_IN_NOT_CONFIGURED (404) when GOOGLE_CLIENT_ID or GOOGLE_CLIENT_SECRET is unset
   */
  async startWebSignIn(req: Request): Promise<{ url: string }> {
    return { url: await this.web.authorizationUrl(req) };
  }

  /**
   * Completes the browser flow at its callback and signs in.
   * @throws DomainException GOOGLE_SIGN_IN_FAILED (401), GOOGLE_EMAIL_UNVERIFIED (409), ACCOUNT_DISABLED (401), GOOGLE_SIGN_IN_NOT_CONFIGURED (404)
   */
  async completeWebSignIn(req: Request): Promise<AuthResultDto> {
    return this.signIn(await this.web.complete(req));
  }

  private async signIn(account: GoogleAccount): Promise<AuthResultDto> {
    const user = await this.accountFor(account);
    if (user.active && user.role !== 'admin' && account.emailVerified && this.config.ADMIN_EMAILS.includes(user.email)) {
      await this.users.update(user.id, { role: 'admin' });
      user.role = 'admin';
    }
    return this.auth.signInVerifiedUser(user);
  }

  private async accountFor(account: GoogleAccount): Promise<UserEntity> {
    const identity = await this.identities.findBySubject('google', account.subject);
    if (identity) {
      const user = await this.users.findById(identity.userId);
      if (user) return user;
    }
    const existing = await this.users.findByLogin({ email: account.email });
    if (existing) return this.link(existing, account);
    const created = await this.create(account);
    try {
      await this.identities.link({ userId: created.id, provider: 'google', subject: account.subject, email: account.email });
    } catch (error) {
      // The same Google account signed in twice at once: keep the first account.
      if (violatedUniqueConstraint(error) === undefined) throw error;
      await this.users.delete(created.id);
      return this.accountFor(account);
    }
    this.logger.log(`account ${created.id} created by Google sign-in`);
    return created;
  }

  /**
   * Links a Google identity to an existing account with the same email. When that account's own
   * email was never verified, whoever set its password never proved control of the address (a
   * pre-hijacked account): the password is removed and its sessions are revoked.
   */
  private async link(user: UserEntity, account: GoogleAccount): Promise<UserEntity> {
    if (!account.emailVerified) {
      throw new DomainException(
        ErrorCode.GOOGLE_EMAIL_UNVERIFIED,
        'An account with this email exists, and Google has not verified that this Google account owns the email: sign in with your password instead',
      );
    }
    try {
      await this.identities.link({ userId: user.id, provider: 'google', subject: account.subject, email: account.email });
    } catch (error) {
      if (violatedUniqueConstraint(error) === undefined) throw error;
    }
    if (!user.emailVerified) {
      if (user.passwordHash) {
        await this.users.update(user.id, { passwordHash: null });
        await this.auth.logoutAll(user.id);
      }
      await this.users.markEmailVerified(user.id);
    }
    this.logger.log(`Google identity linked to account ${user.id}`);
    return (await this.users.findById(user.id)) ?? user;
  }

  private async create(account: GoogleAccount): Promise<UserEntity> {
    for (let attempt = 0; ; attempt++) {
      const username = usernameFromEmail(account.email, attempt === 0 ? '' : `-${randomBytes(3).toString('hex')}`);
      if (attempt === 0 && (await this.users.findByLogin({ username }))) continue;
      try {
        return await this.users.createUser({
          email: account.email,
          username,
          passwordHash: null,
          fullName: account.name,
          admin: account.emailVerified && this.config.ADMIN_EMAILS.includes(account.email),
          emailVerified: account.emailVerified,
        });
      } catch (error) {
        const constraint = violatedUniqueConstraint(error);
        if (constraint === 'uq_users_username' && attempt < USERNAME_ATTEMPTS) continue;
        if (constraint === 'uq_users_email') throw new DomainException(ErrorCode.EMAIL_TAKEN, 'An account with this email was just created; try again');
        throw error;
      }
    }
  }
}
