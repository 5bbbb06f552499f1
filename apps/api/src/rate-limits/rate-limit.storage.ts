import type { OnApplicationShutdown } from '@nestjs/common';
import type { ThrottlerStorage } from '@nestjs/throttler';

/** What a storage answers for one hit (the `ThrottlerStorageRecord` of @nestjs/throttler 6); times in seconds. */
export interface ThrottlerStorageRecord {
  totalHits: number;
  timeToExpire: number;
  isBlocked: boolean;
  timeToBlockExpire: number;
}

/**
 * Where rate-limit counters live: in this process, or in Redis so replicas share them. The
 * contract is @nestjs/throttler 6's `ThrottlerStorage`, so either storage also plugs into its
 * ThrottlerModule. (That module itself is CommonJS requiring the ESM-only @nestjs/common 12,
 * which Jest on Node 20 cannot load; the guard here does its small job instead.)
 */
export abstract class RateLimitStorage implements ThrottlerStorage {
  /**
   * Counts one hit of `key` for `throttlerName` on a fixed window: past `limit` hits the caller
   * is blocked for `blockDuration`, then counting starts again.
   * @param ttl window in milliseconds
   * @param blockDuration in milliseconds
   */
  abstract increment(key: string, ttl: number, limit: number, blockDuration: number, throttlerName: string): Promise<ThrottlerStorageRecord>;

  /** Resolves when the storage answers (readiness); rejects when it does not. */
  abstract ping(): Promise<void>;
}

interface Counter {
  hits: number;
  windowEndsAt: number;
  blockedUntil: number;
}

/** Counters in this process (REDIS_URL unset: one replica); expired ones are swept every minute. */
export class MemoryRateLimitStorage extends RateLimitStorage implements OnApplicationShutdown {
  private readonly counters = new Map<string, Counter>();
  private readonly sweeper = setInterval(() => this.sweep(Date.now()), 60_000).unref();

  override async ping(): Promise<void> {
    // Counters in this process are always there.
  }

  override async increment(key: string, ttl: number, limit: number, blockDuration: number, throttlerName: string): Promise<ThrottlerStorageRecord> {
    const now = Date.now();
    const id = `${throttlerName}:${key}`;
    let counter = this.counters.get(id);
    if (counter && counter.blockedUntil > now) {
      const blockLeft = Math.ceil((counter.blockedUntil - now) / 1000);
      return { totalHits: limit + 1, timeToExpire: blockLeft, isBlocked: true, timeToBlockExpire: blockLeft };
    }
    if (!counter || counter.windowEndsAt <= now) {
      counter = { hits: 0, windowEndsAt: now + ttl, blockedUntil: 0 };
      this.counters.set(id, counter);
    }
    counter.hits += 1;
    const timeToExpire = Math.ceil((counter.windowEndsAt - now) / 1000);
    if (counter.hits <= limit) return { totalHits: counter.hits, timeToExpire, isBlocked: false, timeToBlockExpire: 0 };
    const hits = counter.hits;
    if (blockDuration > 0) {
      // Blocked for blockDuration; the count starts again afterwards (as the Redis script does).
      counter.blockedUntil = now + blockDuration;
      counter.hits = 0;
      counter.windowEndsAt = counter.blockedUntil;
      return { totalHits: hits, timeToExpire, isBlocked: true, timeToBlockExpire: Math.ceil(blockDuration / 1000) };
    }
    return { totalHits: hits, timeToExpire, isBlocked: true, timeToBlockExpire: timeToExpire };
  }

  onApplicationShutdown(): void {
    clearInterval(this.sweeper);
    this.counters.clear();
  }

  private sweep(now: number): void {
    for (const [id, counter] of this.counters) if (counter.windowEndsAt <= now && counter.blockedUntil <= now) this.counters.delete(id);
  }
}
