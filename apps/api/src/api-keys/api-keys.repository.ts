import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { IsNull, Repository } from 'typeorm';
import type { ApiKeyScope } from './api-key-scopes.js';
import { ApiKeyEntity, ApiKeyUsageEntity } from './api-key.entity.js';

/** What is stored of a new key. */
export interface NewApiKey {
  userId: string;
  name: string;
  prefix: string;
  secretHash: string;
  scopes: ApiKeyScope[];
  expiresAt: Date | null;
}

/** Requests counted for one key: on `today`, and over the 30 UTC days up to and including it. */
export interface ApiKeyUsage {
  today: number;
  last30Days: number;
}

/** Persistence of API keys (`api_keys`) and their per-day request counts (`api_key_usage`). */
@Injectable()
export class ApiKeysRepository {
  constructor(
    @InjectRepository(ApiKeyEntity) private readonly keys: Repository<ApiKeyEntity>,
    @InjectRepository(ApiKeyUsageEntity) private readonly usage: Repository<ApiKeyUsageEntity>,
  ) {}

  /** @throws QueryFailedError on a prefix collision (unique `uq_api_keys_prefix`, SQLSTATE 23505) */
  async insert(key: NewApiKey): Promise<ApiKeyEntity> {
    return this.keys.save(this.keys.create(key));
  }

  findByPrefix(prefix: string): Promise<ApiKeyEntity | null> {
    return this.keys.findOneBy({ prefix });
  }

  /** The user's keys that are not revoked, newest first, one page of them, and their count. */
  findPageOwned(userId: string, limit: number, offset: number): Promise<[ApiKeyEntity[], number]> {
    return this.keys.findAndCount({
      where: { userId, revokedAt: IsNull() },
      order: { createdAt: 'DESC', id: 'ASC' },
      take: limit,
      skip: offset,
    });
  }

  /**
   * Revokes one of the user's keys.
   * @returns false when the user has no such key that is not already revoked
   */
  async revokeOwned(userId: string, id: string, now: Date): Promise<boolean> {
    const result = await this.keys.update({ id, userId, revokedAt: IsNull() }, { revokedAt: now });
    return (result.affected ?? 0) > 0;
  }

  /**
   * Records one authenticated request: sets `last_used_at` and adds one to the counter of `day`
   * (`YYYY-MM-DD`, UTC), in one statement (an UPDATE and an INSERT … ON CONFLICT in one CTE).
   */
  async recordUse(id: string, at: Date, day: string): Promise<void> {
    await this.keys.query(
      `WITH used AS (UPDATE api_keys SET last_used_at = $2 WHERE id = $1 RETURNING id)
       INSERT INTO api_key_usage (api_key_id, day, requests)
       SELECT id, $3::date, 1 FROM used
       ON CONFLICT (api_key_id, day) DO UPDATE SET requests = api_key_usage.requests + 1`,
      [id, at, day],
    );
  }

  /** Requests per key on `today` and on the 30 days ending with it (`YYYY-MM-DD`, UTC); keys never used are absent. */
  async usageOf(ids: string[], today: string): Promise<Map<string, ApiKeyUsage>> {
    if (ids.length === 0) return new Map();
    const rows = await this.usage
      .createQueryBuilder('usage')
      .select('usage.api_key_id', 'id')
      .addSelect('COALESCE(SUM(usage.requests) FILTER (WHERE usage.day = CAST(:today AS date)), 0)', 'today')
      .addSelect('SUM(usage.requests)', 'last30Days')
      .where('usage.api_key_id IN (:...ids)', { ids })
      .andWhere('usage.day > CAST(:today AS date) - 30', { today })
      .groupBy('usage.api_key_id')
      .getRawMany<{ id: string; today: string; last30Days: string }>();
    // SUM of integers is a bigint, which pg hands over as a string.
    return new Map(rows.map((row) => [row.id, { today: Number(row.today), last30Days: Number(row.last30Days) }]));
  }
}
