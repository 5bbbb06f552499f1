import { Global, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { Redis } from 'ioredis';
import { AppConfig } from '../config/app-config.js';
import { RateLimitGuard } from './rate-limit.guard.js';
import { MemoryRateLimitStorage, RateLimitStorage } from './rate-limit.storage.js';
import { RedisRateLimitStorage } from './redis-rate-limit.storage.js';

/**
 * Rate limits on every HTTP route (a global guard), counted in Redis when REDIS_URL is set so
 * replicas share them, else in this process.
 */
@Global()
@Module({
  providers: [
    {
      provide: RateLimitStorage,
      inject: [AppConfig],
      useFactory: (config: AppConfig): RateLimitStorage =>
        config.REDIS_URL
          ? new RedisRateLimitStorage(
              // A slow or absent Redis fails the count fast (and the request goes through) rather than hanging it.
              new Redis(config.REDIS_URL, { maxRetriesPerRequest: 1, commandTimeout: 1000, connectTimeout: 2000 }),
              config.REDIS_KEY_PREFIX,
            )
          : new MemoryRateLimitStorage(),
    },
    { provide: APP_GUARD, useClass: RateLimitGuard },
  ],
  exports: [RateLimitStorage],
})
export class RateLimitsModule {}
