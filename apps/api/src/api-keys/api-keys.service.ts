import { randomInt, timingSafeEqual } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import type { AuthUser } from '../auth/auth-user.js';
import { Clock } from '../common/clock.js';
import { DomainException, ErrorCode } from '../common/domain.exception.js';
import { violatedUniqueConstraint } from '../common/postgres-errors.js';
import type { Page, PageQueryDto } from '../common/validation.js';
import { grantableScopes, type ApiKeyScope } from './api-key-scopes.js';
import type { ApiKeyEntity } from './api-key.entity.js';
import { ApiKeysRepository } from './api-keys.repository.js';
import { toApiKeyDto, toCreatedApiKeyDto, type ApiKeyDto, type CreateApiKeyDto, type CreatedApiKeyDto } from './dto/api-key.dto.js';
import { AuditService } from '../audit/audit.service.js';
import { newOpaqueToken, tokenHash } from '../common/opaque-token.js';

/** Every API key starts with this, which is how a credential is told apart from a JWT. */
export const API_KEY_PREFIX = 'dpk_';
/** Random characters after `dpk_` in a key's public prefix. */
const PREFIX_RANDOM_LENGTH = 8;
const PREFIX_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
/** `dpk_` + 8 characters: the part of a key that is stored in clear and shown in lists. */
const PREFIX_LENGTH = API_KEY_PREFIX.length + PREFIX_RANDOM_LENGTH;
/** A key: `dpk_<8 of a-z0-9>_<32 random bytes, base64url>`. */
const KEY_PATTERN = /^dpk_[a-z0-9]{8}_[A-Za-z0-9_-]{43}$/;
/** Tries at a fresh prefix when one is taken (36^8 prefixes: a collision is rare, two in a row rarer). */
const PREFIX_ATTEMPTS = 3;
const DAY_MS = 86_400_000;

/** A key that authenticated: whose it is and what it may do. */
export interface VerifiedApiKey {
  id: string;
  userId: string;
  scopes: ApiKeyScope[];
}


function newPrefix(): string {
  let prefix = API_KEY_PREFIX;
  for (let i = 0; i < PREFIX_RANDOM_LENGTH; i += 1) prefix += PREFIX_ALPHABET[randomInt(PREFIX_ALPHABET.length)];
  return prefix;
}

/** The UTC day of `at`, `YYYY-MM-DD`. */
function utcDay(at: Date): string {
  return at.toISOString().slice(0, 10);
}

/**
 * API keys (personal access tokens): minted with a name, scopes and an optional expiry, the
 * secret shown once and stored as its SHA-256 (a key is 32 random bytes, so a slow password
 * hash would add nothing); found again by their prefix; revoked; metered per UTC day.
 */
@Injectable()
export class ApiKeysService {
  private readonly logger = new Logger(ApiKeysService.name);

  constructor(
    private readonly keys: ApiKeysRepository,
    private readonly clock: Clock,
    private readonly audit: AuditService,
  ) {}

  /**
   * Mints a key for `user`. The `admin` scope is only for admins.
   * @throws DomainException VALIDATION_FAILED (400) for both expiresAt and expiresInDays, or an expiresAt not in the future;
   *   FORBIDDEN (403) for a scope the user may not grant
   */
  async create(user: AuthUser, input: CreateApiKeyDto): Promise<CreatedApiKeyDto> {
    const now = this.clock.now();
    const grantable = grantableScopes(user.role);
    const refused = input.scopes.filter((scope) => !grantable.includes(scope));
    if (refused.length > 0) throw new DomainException(ErrorCode.FORBIDDEN, `Only admins can create keys with the scope ${refused.join(', ')}`);
    const expiresAt = this.expiryOf(input, now);
    for (let attempt = 1; ; attempt += 1) {
      const prefix = newPrefix();
      const { token: secret, hash: secretHash } = newOpaqueToken(`${prefix}_`);
      try {
        const key = await this.keys.insert({ userId: user.id, name: input.name, prefix, secretHash, scopes: input.scopes, expiresAt });
        this.logger.log(`api key ${key.id} (${prefix}) created for account ${user.id} with ${key.scopes.join(', ')}`);
        await this.audit.record({ action: 'api_key.created', actorUserId: user.id, targetType: 'api_key', targetId: key.id, details: { prefix, scopes: key.scopes } });
        return toCreatedApiKeyDto(key, secret);
      } catch (error) {
        if (violatedUniqueConstraint(error) !== 'uq_api_keys_prefix' || attempt >= PREFIX_ATTEMPTS) throw error;
      }
    }
  }

  /** The user's keys that are not revoked (expired ones included), newest first, with their usage. */
  async list(userId: string, page: PageQueryDto): Promise<Page<ApiKeyDto>> {
    const [keys, total] = await this.keys.findPageOwned(userId, page.limit, page.offset);
    const usage = await this.keys.usageOf(
      keys.map((key) => key.id),
      utcDay(this.clock.now()),
    );
    return { items: keys.map((key) => toApiKeyDto(key, usage.get(key.id))), total, limit: page.limit, offset: page.offset };
  }

  /**
   * Revokes one of the user's keys: it stops working at once.
   * @throws DomainException API_KEY_NOT_FOUND (404) when the user has no such key (another user's included), or it is already revoked
   */
  async revoke(userId: string, id: string): Promise<void> {
    if (!(await this.keys.revokeOwned(userId, id, this.clock.now()))) throw new DomainException(ErrorCode.API_KEY_NOT_FOUND, 'API key not found');
    this.logger.log(`api key ${id} of account ${userId} revoked`);
    await this.audit.record({ action: 'api_key.revoked', actorUserId: userId, targetType: 'api_key', targetId: id });
  }

  /**
   * Checks a presented key: its prefix names a stored key whose hash matches (compared in
   * constant time), not revoked and not expired.
   * @throws DomainException UNAUTHORIZED (401) otherwise
   */
  async verify(presented: string): Promise<VerifiedApiKey> {
    const invalid = new DomainException(ErrorCode.UNAUTHORIZED, 'The API key is invalid, expired or revoked');
    if (!KEY_PATTERN.test(presented)) throw invalid;
    const key: ApiKeyEntity | null = await this.keys.findByPrefix(presented.slice(0, PREFIX_LENGTH));
    if (!key || !timingSafeEqual(Buffer.from(key.secretHash, 'hex'), Buffer.from(tokenHash(presented), 'hex'))) throw invalid;
    const now = this.clock.now();
    if (key.revokedAt || (key.expiresAt && key.expiresAt <= now)) throw invalid;
    return { id: key.id, userId: key.userId, scopes: key.scopes };
  }

  /**
   * Meters one authenticated request: `lastUsedAt` and today's counter. A failure is logged and
   * swallowed: metering must not fail the request it counts.
   */
  async recordUse(id: string): Promise<void> {
    const now = this.clock.now();
    try {
      await this.keys.recordUse(id, now, utcDay(now));
    } catch (error) {
      this.logger.error(`could not record the use of api key ${id}: ${(error as Error)?.stack ?? String(error)}`);
    }
  }

  private expiryOf(input: CreateApiKeyDto, now: Date): Date | null {
    if (input.expiresAt !== undefined && input.expiresInDays !== undefined) {
      throw new DomainException(ErrorCode.VALIDATION_FAILED, 'Give at most one of expiresAt and expiresInDays', [
        { field: 'expiresAt', message: 'give at most one of expiresAt and expiresInDays' },
      ]);
    }
    if (input.expiresInDays !== undefined) return new Date(now.getTime() + input.expiresInDays * DAY_MS);
    if (input.expiresAt === undefined) return null;
    const expiresAt = new Date(input.expiresAt);
    if (Number.isNaN(expiresAt.getTime()) || expiresAt <= now) {
      throw new DomainException(ErrorCode.VALIDATION_FAILED, 'expiresAt must be in the future', [{ field: 'expiresAt', message: 'must be in the future' }]);
    }
    return expiresAt;
  }
}
