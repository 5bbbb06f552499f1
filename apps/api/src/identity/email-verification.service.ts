import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { AuthService } from '../auth/auth.service.js';
import { Clock } from '../common/clock.js';
import { DomainException, ErrorCode } from '../common/domain.exception.js';
import { AppConfig } from '../config/app-config.js';
import type { UserEntity } from '../users/user.entity.js';
import { UsersRepository } from '../users/users.repository.js';
import { newOpaqueToken, tokenHash } from '../common/opaque-token.js';
import { EmailTokensRepository } from './email-tokens.repository.js';
import { Mailer } from './mailer.js';

/**
 * Email verification: a single-use link `${PUBLIC_URL}/verify-email?token=…` mailed at
 * registration and on request, valid EMAIL_TOKEN_TTL seconds; only its SHA-256 is stored.
 */
@Injectable()
export class EmailVerificationService implements OnModuleInit {
  private readonly logger = new Logger(EmailVerificationService.name);

  constructor(
    private readonly config: AppConfig,
    private readonly auth: AuthService,
    private readonly users: UsersRepository,
    private readonly tokens: EmailTokensRepository,
    private readonly mailer: Mailer,
    private readonly clock: Clock,
  ) {}

  onModuleInit(): void {
    // Registration must not wait for, or fail with, the mail server.
    this.auth.onRegistered((user) => {
      this.mailLink(user).catch((error: unknown) => this.logger.warn(`verification mail for account ${user.id} failed: ${(error as Error).message}`));
    });
  }

  /**
   * Mails a new verification link to the signed-in account (earlier links stop working); nothing
   * when the email is already verified.
   * @throws DomainException USER_NOT_FOUND (404); SERVICE_UNAVAILABLE (503) when the mail server refuses
   */
  async resend(userId: string): Promise<void> {
    const user = await this.users.findById(userId);
    if (!user) throw new DomainException(ErrorCode.USER_NOT_FOUND, 'This account no longer exists');
    if (user.emailVerified) return;
    try {
      await this.mailLink(user);
    } catch (error) {
      this.logger.warn(`verification mail for account ${user.id} failed: ${(error as Error).message}`);
      throw new DomainException(ErrorCode.SERVICE_UNAVAILABLE, 'The verification email could not be sent; try again later');
    }
  }

  /**
   * Spends a verification token and marks its account's email verified.
   * @throws DomainException INVALID_EMAIL_TOKEN (400) for an unknown, used or expired token
   */
  async verify(token: string): Promise<void> {
    const userId = await this.tokens.consume(tokenHash(token), 'verify_email', this.clock.now());
    if (!userId) throw new DomainException(ErrorCode.INVALID_EMAIL_TOKEN, 'This verification link is invalid, used or expired');
    await this.users.markEmailVerified(userId);
  }

  private async mailLink(user: UserEntity): Promise<void> {
    const now = this.clock.now();
    const { token, hash } = newOpaqueToken();
    await this.tokens.replace({ userId: user.id, purpose: 'verify_email', tokenHash: hash, expiresAt: new Date(now.getTime() + this.config.EMAIL_TOKEN_TTL * 1000) }, now);
    const link = `${this.config.publicUrl}/verify-email?token=${token}`;
    const hours = Math.round(this.config.EMAIL_TOKEN_TTL / 3600);
    await this.mailer.send({
      to: user.email,
      subject: 'Verify your DevPocket email',
      text: `Hello ${user.username},\n\nConfirm that this is your email address by opening this link:\n\n${link}\n\nThe link works once and expires in ${hours} hour(s). If you did not create a DevPocket account, ignore this message.\n`,
    });
  }
}
