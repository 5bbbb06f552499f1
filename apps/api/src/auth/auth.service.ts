import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { AppConfig } from '../config/app-config.js';
import { Clock } from '../common/clock.js';
import { DomainException, ErrorCode } from '../common/domain.exception.js';
import { violatedUniqueConstraint } from '../common/postgres-errors.js';
import { toUserDto } from '../users/dto/user.dto.js';
import type { UserEntity } from '../users/user.entity.js';
import { UsersRepository } from '../users/users.repository.js';
import type { AccessTokenClaims, AuthUser } from './auth-user.js';
import type { AuthResultDto, LoginDto, RegisterDto } from './dto/auth.dto.js';
import { PasswordHasher } from './password-hasher.js';
import { RefreshTokensRepository } from './refresh-tokens.repository.js';

/** Failed sign-ins in a row that lock an account, and for how long (API.md: 5, 15 minutes). */
const MAX_FAILED_LOGINS = 5;
const LOCK_SECONDS = 15 * 60;

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * Accounts' credentials: registration, password sign-in with lockout, access tokens (JWT,
 * RFC 7519, HS256) and opaque refresh tokens rotated on every use with reuse detection
 * (OAuth 2.0 Security BCP, RFC 9700 §4.14.2).
 */
@Injectable()
export class AuthService {
  private readonly logger = new Logger(AuthService.name);

  constructor(
    private readonly config: AppConfig,
    private readonly users: UsersRepository,
    private readonly refreshTokens: RefreshTokensRepository,
    private readonly hasher: PasswordHasher,
    private readonly jwt: JwtService,
    private readonly clock: Clock,
  ) {}

  /**
   * Creates an account and signs it in. The first account of an install, and any whose email is
   * in ADMIN_EMAILS, is an admin.
   * @throws DomainException EMAIL_TAKEN / USERNAME_TAKEN (409)
   */
  async register(input: RegisterDto): Promise<AuthResultDto> {
    const passwordHash = await this.hasher.hash(input.password);
    let user: UserEntity;
    try {
      user = await this.users.createUser({
        email: input.email,
        username: input.username,
        passwordHash,
        fullName: input.fullName ?? null,
        admin: this.config.ADMIN_EMAILS.includes(input.email),
      });
    } catch (error) {
      const constraint = violatedUniqueConstraint(error);
      if (constraint === 'uq_users_email') throw new DomainException(ErrorCode.EMAIL_TAKEN, 'An account with this email already exists');
      if (constraint === 'uq_users_username') throw new DomainException(ErrorCode.USERNAME_TAKEN, 'This username is taken');
      throw error;
    }
    this.logger.log(`account ${user.id} registered (${user.role})`);
    return this.issue(user, randomUUID());
  }

  /**
   * Signs in with exactly one of email and username. Five failures in a row lock the account
   * for 15 minutes; while locked every attempt gets 423 with Retry-After, right password or not.
   * @throws DomainException VALIDATION_FAILED (400), INVALID_CREDENTIALS (401), ACCOUNT_LOCKED (423), ACCOUNT_DISABLED (401)
   */
  async login(input: LoginDto): Promise<AuthResultDto> {
    if (Boolean(input.email) === Boolean(input.username)) {
      throw new DomainException(ErrorCode.VALIDATION_FAILED, 'Give exactly one of email and username', [
        { field: 'email', message: 'give exactly one of email and username' },
      ]);
    }
    const user = await this.users.findByLogin(input);
    if (!user || !user.passwordHash) {
      await this.hasher.verifyDecoy(input.password);
      throw new DomainException(ErrorCode.INVALID_CREDENTIALS, 'Wrong email, username or password');
    }
    const now = this.clock.now();
    this.assertNotLocked(user.lockedUntil, now);
    if (!(await this.hasher.verify(user.passwordHash, input.password))) {
      const lockedUntil = await this.users.recordFailedLogin(user.id, MAX_FAILED_LOGINS, new Date(now.getTime() + LOCK_SECONDS * 1000));
      this.assertNotLocked(lockedUntil, now);
      throw new DomainException(ErrorCode.INVALID_CREDENTIALS, 'Wrong email, username or password');
    }
    if (!user.active) throw new DomainException(ErrorCode.ACCOUNT_DISABLED, 'This account is deactivated');
    await this.users.clearFailedLogins(user.id);
    if (user.role !== 'admin' && this.config.ADMIN_EMAILS.includes(user.email)) {
      await this.users.update(user.id, { role: 'admin' });
      user.role = 'admin';
    }
    return this.issue(user, randomUUID());
  }

  /**
   * Exchanges a refresh token for a new pair; the presented one is spent. Presenting a spent
   * token revokes every token of its family (someone else holds a copy).
   * @throws DomainException INVALID_REFRESH_TOKEN / REFRESH_TOKEN_REUSED / ACCOUNT_DISABLED (401)
   */
  async refresh(refreshToken: string): Promise<AuthResultDto> {
    const now = this.clock.now();
    const next = this.newRefreshToken(now);
    const result = await this.refreshTokens.rotate(sha256(refreshToken), now, { tokenHash: next.hash, expiresAt: next.expiresAt });
    if (result.outcome === 'reused') {
      this.logger.warn(`refresh token reuse for account ${result.userId}: token family revoked`);
      throw new DomainException(ErrorCode.REFRESH_TOKEN_REUSED, 'This refresh token was already used; sign in again');
    }
    if (result.outcome === 'invalid') throw new DomainException(ErrorCode.INVALID_REFRESH_TOKEN, 'The refresh token is invalid or expired');
    const user = await this.users.findById(result.userId);
    if (!user || !user.active) {
      await this.refreshTokens.revokeAllOfUser(result.userId, now);
      throw new DomainException(ErrorCode.ACCOUNT_DISABLED, 'This account is deactivated');
    }
    return this.result(user, next.token);
  }

  /** Revokes one refresh token; unknown tokens are accepted silently (logout is idempotent). */
  async logout(refreshToken: string): Promise<void> {
    await this.refreshTokens.revokeByHash(sha256(refreshToken), this.clock.now());
  }

  /** Revokes every refresh token of the user and every access token issued so far. */
  async logoutAll(userId: string): Promise<void> {
    await this.refreshTokens.revokeAllOfUser(userId, this.clock.now());
    await this.users.bumpTokenVersion(userId);
  }

  /**
   * Verifies an access token (signature, expiry, audience) and loads its live account.
   * Used by the HTTP guard and by both terminal transports' handshakes.
   * @throws DomainException UNAUTHORIZED (401) for any bad, expired or revoked token
   */
  async authenticateAccessToken(token: string): Promise<AuthUser> {
    let claims: AccessTokenClaims;
    try {
      claims = await this.jwt.verifyAsync<AccessTokenClaims>(token);
    } catch {
      throw new DomainException(ErrorCode.UNAUTHORIZED, 'The access token is invalid or expired');
    }
    return this.userFromClaims(claims);
  }

  /**
   * The account behind verified claims, when it still exists, is active and the token was issued
   * after the last logout-all.
   * @throws DomainException UNAUTHORIZED (401)
   */
  async userFromClaims(claims: AccessTokenClaims): Promise<AuthUser> {
    if (claims?.typ !== 'access' || typeof claims.sub !== 'string' || !/^[0-9a-f-]{36}$/i.test(claims.sub)) {
      throw new DomainException(ErrorCode.UNAUTHORIZED, 'The access token is invalid');
    }
    const user = await this.users.findById(claims.sub);
    if (!user || !user.active || user.tokenVersion !== claims.ver) {
      throw new DomainException(ErrorCode.UNAUTHORIZED, 'The access token is no longer valid');
    }
    return { id: user.id, role: user.role, plan: user.plan };
  }

  private assertNotLocked(lockedUntil: Date | null, now: Date): void {
    if (lockedUntil && lockedUntil > now) {
      const retryAfter = Math.ceil((lockedUntil.getTime() - now.getTime()) / 1000);
      throw new DomainException(ErrorCode.ACCOUNT_LOCKED, 'Too many failed sign-ins: this account is locked for a while', undefined, {
        'Retry-After': String(retryAfter),
      });
    }
  }

  private newRefreshToken(now: Date): { token: string; hash: string; expiresAt: Date } {
    const token = randomBytes(32).toString('base64url');
    return { token, hash: sha256(token), expiresAt: new Date(now.getTime() + this.config.REFRESH_TOKEN_TTL * 1000) };
  }

  private async issue(user: UserEntity, familyId: string): Promise<AuthResultDto> {
    const next = this.newRefreshToken(this.clock.now());
    await this.refreshTokens.insert({ userId: user.id, tokenHash: next.hash, familyId, expiresAt: next.expiresAt });
    return this.result(user, next.token);
  }

  private async result(user: UserEntity, refreshToken: string): Promise<AuthResultDto> {
    const claims: AccessTokenClaims = { sub: user.id, ver: user.tokenVersion, typ: 'access' };
    const accessToken = await this.jwt.signAsync(claims, { jwtid: randomUUID() });
    return { user: toUserDto(user), accessToken, refreshToken, tokenType: 'Bearer', expiresIn: this.config.JWT_ACCESS_TTL };
  }
}
