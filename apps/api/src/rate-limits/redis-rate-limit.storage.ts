import { Logger, type OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { RateLimitStorage, type ThrottlerStorageRecord } from './rate-limit.storage.js';

/**
 * One hit on a fixed window, atomically: while the block key lives the caller is blocked;
 * otherwise INCR the hits key, start its window (PEXPIRE) on the first hit, and past `limit`
 * set the block key for `blockDuration` and restart the count. Answers
 * `{totalHits, windowLeftMs, blocked 0/1, blockLeftMs}`.
 * KEYS: hits, block. ARGV: ttl ms, limit, blockDuration ms.
 */
const INCREMENT_SCRIPT = `
local ttl = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local block = tonumber(ARGV[3])
local blockLeft = redis.call('PTTL', KEYS[2])
if blockLeft > 0 then
  return {limit + 1, blockLeft, 1, blockLeft}
end
local hits = redis.call('INCR', KEYS[1])
local left = redis.call('PTTL', KEYS[1])
if left < 0 then
  redis.call('PEXPIRE', KEYS[1], ttl)
  left = ttl
end
if hits > limit then
  if block > 0 then
    redis.call('SET', KEYS[2], '1', 'PX', block)
    redis.call('DEL', KEYS[1])
    return {hits, left, 1, block}
  end
  return {hits, left, 1, left}
end
return {hits, left, 0, 0}
`;

type ScriptReply = [number, number, number, number];
type RedisWithThrottle = Redis & {
  devpocketThrottle(hitsKey: string, blockKey: string, ttl: number, limit: number, blockDuration: number): Promise<ScriptReply>;
};

/**
 * Rate-limit counters in Redis, so every replica counts the same hits (DESIGN.md "More than
 * one replica"). Keys are `<prefix>throttle:{<throttler>:<key>}:hits|block`; the braces keep
 * both keys of a counter on one Redis Cluster slot.
 *
 * When Redis does not answer, the request is let through and the failure logged (at most once
 * a minute): an outage of the counters must not take the API down with it.
 */
export class RedisRateLimitStorage extends RateLimitStorage implements OnApplicationShutdown {
  private readonly logger = new Logger(RedisRateLimitStorage.name);
  private readonly redis: RedisWithThrottle;
  private lastWarningAt = 0;

  constructor(
    redis: Redis,
    private readonly prefix: string,
  ) {
    super();
    redis.defineCommand('devpocketThrottle', { numberOfKeys: 2, lua: INCREMENT_SCRIPT });
    redis.on('error', (error: Error) => this.warn(`Redis connection: ${error.message}`));
    this.redis = redis as RedisWithThrottle;
  }

  /**
   * Counts one hit of `key` for `throttlerName`.
   * @param ttl window in milliseconds
   * @param blockDuration how long a caller over `limit` stays blocked, in milliseconds
   */
  override async ping(): Promise<void> {
    await this.redis.ping();
  }

  override async increment(key: string, ttl: number, limit: number, blockDuration: number, throttlerName: string): Promise<ThrottlerStorageRecord> {
    const base = `${this.prefix}throttle:{${throttlerName}:${key}}`;
    try {
      const [totalHits, windowLeft, blocked, blockLeft] = await this.redis.devpocketThrottle(`${base}:hits`, `${base}:block`, ttl, limit, blockDuration);
      return {
        totalHits: Number(totalHits),
        timeToExpire: Math.ceil(Number(windowLeft) / 1000),
        isBlocked: Number(blocked) === 1,
        timeToBlockExpire: Math.ceil(Number(blockLeft) / 1000),
      };
    } catch (error) {
      this.warn(`rate limit not counted, request let through: ${(error as Error).message}`);
      return { totalHits: 0, timeToExpire: Math.ceil(ttl / 1000), isBlocked: false, timeToBlockExpire: 0 };
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  private warn(message: string): void {
    const now = Date.now();
    if (now - this.lastWarningAt < 60_000) return;
    this.lastWarningAt = now;
    this.logger.warn(message);
  }
}
