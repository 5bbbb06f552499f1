import { randomUUID } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { API_KEY_PREFIX, ApiKeysService } from '../api-keys/api-keys.service.js';
import { AuditService } from '../audit/audit.service.js';
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
import { newOpaqueToken, tokenHash } from '../common/opaque-token.js';

/** Failed sign-ins in a row that lock an account, and for how long (API.md: 5, 15 minutes). */
const MAX_FAILED_LOGINS = 5;
const LOCK_SECONDS = 15 * 60;


/**
 * Accounts' credentials: registration, password sign-in with lockout, access tokens (JWT,
 * RFC 7519, HS256) and opaque refresh tokens rotated on every use with reuse detection
 * (OAuth 2.0 Security BCP, RFC 9700 §4.14.2).
 */
@Injectable()
export class AuthService {
  private readonly logger = new Logger(AuthService.name);
  private readonly registrationListeners: Array<(user: UserEntity) => void> = [];

  constructor(
    private readonly config: AppConfig,
    private readonly users: UsersRepository,
    private readonly refreshTokens: RefreshTokensRepository,
    private readonly hasher: PasswordHasher,
    private readonly jwt: JwtService,
    private readonly clock: Clock,
    private readonly apiKeys: ApiKeysService,
    private readonly audit: AuditService,
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
    for (const listener of this.registrationListeners) listener(user);
    return this.issue(user, randomUUID());
  }

  /**
   * Calls `listener` with each account created by {@link register} (e.g. to mail a verification
   * link). Listeners run synchronously and must not throw: they start their own work and catch it.
   */
  onRegistered(listener: (user: UserEntity) => void): void {
    this.registrationListeners.push(listener);
  }

  /**
   * Signs in an account whose identity another mechanism proved (Google sign-in): a new
   * refresh token family and an access token. Refuses deactivated accounts.
   * @throws DomainException ACCOUNT_DISABLED (401)
   */
  async signInVerifiedUser(user: UserEntity): Promise<AuthResultDto> {
    if (!user.active) throw new DomainException(ErrorCode.ACCOUNT_DISABLED, 'This account is deactivated');
    return this.issue(user, randomUUID());
  }

  /**
   * Opens a session for the account `userId`, which approved a device authorization (RFC 8628
   * §3.5): the same access + refresh token pair a sign-in gives, in a new refresh token family.
   * @throws DomainException ACCOUNT_DISABLED (401) when the account is gone or deactivated
   */
  async issueForUser(userId: string): Promise<AuthResultDto> {
    const user = await this.users.findById(userId);
    if (!user || !user.active) throw new DomainException(ErrorCode.ACCOUNT_DISABLED, 'This account is deactivated');
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
      await this.auditSignIn('auth.sign_in_failed', user, { reason: user ? 'no_password' : 'unknown_account', login: input.email ?? input.username });
      throw new DomainException(ErrorCode.INVALID_CREDENTIALS, 'Wrong email, username or password');
    }
    const now = this.clock.now();
    if (user.lockedUntil && user.lockedUntil > now) await this.auditSignIn('auth.sign_in_failed', user, { reason: 'locked' });
    this.assertNotLocked(user.lockedUntil, now);
    if (!(await this.hasher.verify(user.passwordHash, input.password))) {
      const lockedUntil = await this.users.recordFailedLogin(user.id, MAX_FAILED_LOGINS, new Date(now.getTime() + LOCK_SECONDS * 1000));
      await this.auditSignIn('auth.sign_in_failed', user, { reason: 'wrong_password' });
      if (lockedUntil && lockedUntil > now) await this.auditSignIn('auth.locked', user, { until: lockedUntil.toISOString() });
      this.assertNotLocked(lockedUntil, now);
      throw new DomainException(ErrorCode.INVALID_CREDENTIALS, 'Wrong email, username or password');
    }
    if (!user.active) {
      await this.auditSignIn('auth.sign_in_failed', user, { reason: 'deactivated' });
      throw new DomainException(ErrorCode.ACCOUNT_DISABLED, 'This account is deactivated');
    }
    await this.users.clearFailedLogins(user.id);
    await this.auditSignIn('auth.sign_in', user);
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
    const result = await this.refreshTokens.rotate(tokenHash(refreshToken), now, { tokenHash: next.hash, expiresAt: next.expiresAt });
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
    await this.refreshTokens.revokeByHash(tokenHash(refreshToken), this.clock.now());
  }

  /** Revokes every refresh token of the user and every access token issued so far. */
  async logoutAll(userId: string): Promise<void> {
    await this.refreshTokens.revokeAllOfUser(userId, this.clock.now());
    await this.users.bumpTokenVersion(userId);
  }

  /**
   * Authenticates a credential as presented by a client: an API key (`dpk_…`) or else an access
   * token. Used by the HTTP guard and by both terminal transports' handshakes. A key's caller
   * carries the key's `scopes`; each successful key use is metered.
   * @throws DomainException UNAUTHORIZED (401) for a bad, expired or revoked key or token, or a deactivated account
   */
  authenticate(credential: string): Promise<AuthUser> {
    return credential.startsWith(API_KEY_PREFIX) ? this.authenticateApiKey(credential) : this.authenticateAccessToken(credential);
  }

  /**
   * Verifies an API key (not revoked, not expired), loads its live account and records the use.
   * @throws DomainException UNAUTHORIZED (401)
   */
  async authenticateApiKey(key: string): Promise<AuthUser> {
    const verified = await this.apiKeys.verify(key);
    const user = await this.users.findById(verified.userId);
    if (!user || !user.active) throw new DomainException(ErrorCode.UNAUTHORIZED, 'The API key is no longer valid');
    await this.apiKeys.recordUse(verified.id);
    return { id: user.id, role: user.role, plan: user.plan, scopes: verified.scopes };
  }

  /**
   * Verifies an access token (signature, expiry, audience) and loads its live account.
   * Access tokens only: {@link authenticate} also takes API keys.
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

  /** Records a sign-in event on `user`'s account (the actor only once signed in), from the request's client IP. */
  private auditSignIn(action: 'auth.sign_in' | 'auth.sign_in_failed' | 'auth.locked', user: UserEntity | null, details?: Record<string, unknown>): Promise<void> {
    const actorUserId = action === 'auth.sign_in' && user ? user.id : null;
    return this.audit.record({ action, actorUserId, targetType: 'user', targetId: user?.id ?? null, details });
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
    return { ...newOpaqueToken(), expiresAt: new Date(now.getTime() + this.config.REFRESH_TOKEN_TTL * 1000) };
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
