import { Injectable, Logger } from '@nestjs/common';
import { AuthService } from '../auth/auth.service.js';
import { PasswordHasher } from '../auth/password-hasher.js';
import { Clock } from '../common/clock.js';
import { DomainException, ErrorCode } from '../common/domain.exception.js';
import { AppConfig } from '../config/app-config.js';
import { UsersRepository } from '../users/users.repository.js';
import { newOpaqueToken, tokenHash } from '../common/opaque-token.js';
import { EmailTokensRepository } from './email-tokens.repository.js';
import { Mailer } from './mailer.js';

/**
 * Password reset by mail (OWASP Forgot Password Cheat Sheet): a single-use link
 * `${PUBLIC_URL}/reset-password?token=…` valid PASSWORD_RESET_TOKEN_TTL seconds, only its SHA-256
 * stored; asking never tells whether an account uses the email.
 */
@Injectable()
export class PasswordResetService {
  private readonly logger = new Logger(PasswordResetService.name);

  constructor(
    private readonly config: AppConfig,
    private readonly users: UsersRepository,
    private readonly auth: AuthService,
    private readonly tokens: EmailTokensRepository,
    private readonly hasher: PasswordHasher,
    private readonly mailer: Mailer,
    private readonly clock: Clock,
  ) {}

  /**
   * Mails a reset link when an active account uses `email`. The lookup and the mail happen after
   * the answer, so neither the answer nor its timing tells whether the account exists.
   */
  requestReset(email: string): void {
    this.mailLink(email).catch((error: unknown) => this.logger.warn(`password reset mail failed: ${(error as Error).message}`));
  }

  /**
   * Spends a reset token and sets the new password (argon2id); every refresh token and access
   * token of the account is revoked, and a sign-in lock is lifted.
   * @throws DomainException INVALID_EMAIL_TOKEN (400) for an unknown, used or expired token
   */
  async reset(token: string, password: string): Promise<void> {
    // Hashed before the token is spent, so a slow hash cannot leave a spent token and no password.
    const passwordHash = await this.hasher.hash(password);
    const now = this.clock.now();
    const userId = await this.tokens.consume(tokenHash(token), 'reset_password', now);
    if (!userId) throw new DomainException(ErrorCode.INVALID_EMAIL_TOKEN, 'This password reset link is invalid, used or expired');
    await this.users.update(userId, { passwordHash });
    await this.users.clearFailedLogins(userId);
    await this.auth.logoutAll(userId);
    this.logger.log(`password of account ${userId} reset by mail; its sessions are revoked`);
  }

  private async mailLink(email: string): Promise<void> {
    const user = await this.users.findByLogin({ email });
    if (!user || !user.active) return;
    const now = this.clock.now();
    const { token, hash } = newOpaqueToken();
    const ttl = this.config.PASSWORD_RESET_TOKEN_TTL;
    await this.tokens.replace({ userId: user.id, purpose: 'reset_password', tokenHash: hash, expiresAt: new Date(now.getTime() + ttl * 1000) }, now);
    const link = `${this.config.publicUrl}/reset-password?token=${token}`;
    await this.mailer.send({
      to: user.email,
      subject: 'Reset your DevPocket password',
      text: `Hello ${user.username},\n\nSomeone asked to reset the password of your DevPocket account. To choose a new one, open this link:\n\n${link}\n\nThe link works once and expires in ${Math.max(1, Math.round(ttl / 60))} minute(s). If you did not ask, ignore this message: your password stays as it is.\n`,
    });
  }
}
