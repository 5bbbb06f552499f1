import { createHash } from 'node:crypto';
import { Injectable, SetMetadata, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request, Response } from 'express';
import { DomainException, ErrorCode } from '../common/domain.exception.js';
import { AppConfig } from '../config/app-config.js';
import { RateLimitStorage } from './rate-limit.storage.js';

const SKIP_RATE_LIMIT = 'devpocket:skip-rate-limit';
const AUTH_RATE_LIMIT = 'devpocket:auth-rate-limit';
const WINDOW_MS = 60_000;

/** Leaves a controller or handler out of every rate limit (health probes). */
export const SkipRateLimit = (): ClassDecorator & MethodDecorator => SetMetadata(SKIP_RATE_LIMIT, true);

/**
 * Adds the sign-in limits to a handler: AUTH_IP_RATE_LIMIT_PER_MINUTE per client IP and
 * AUTH_RATE_LIMIT_PER_MINUTE per client IP and account (the body's email, else username). The
 * handlers so marked share their counters (sign-in and registration together).
 */
export const AuthRateLimited = (): MethodDecorator => SetMetadata(AUTH_RATE_LIMIT, true);

/** The account a sign-in or registration body names, lower-cased; '' when none. */
export function submittedAccount(body: unknown): string {
  const { email, username } = (body ?? {}) as { email?: unknown; username?: unknown };
  const account = typeof email === 'string' && email ? email : typeof username === 'string' ? username : '';
  return account.trim().toLowerCase().slice(0, 254);
}

interface Throttler {
  name: 'default' | 'auth-ip' | 'auth-account';
  tracker: string;
  limit: number;
}

/**
 * The global rate-limit guard, on HTTP only (Socket.IO and the plain WebSocket are not
 * counted): RATE_LIMIT_PER_MINUTE per client IP over every route, plus the sign-in limits on
 * handlers marked {@link AuthRateLimited}. Over a limit: 429 RATE_LIMITED with `Retry-After` in
 * seconds, the caller staying blocked for the rest of a one-minute block. Every answer carries
 * `X-RateLimit-Limit`, `-Remaining` and `-Reset` (seconds) of the overall limit.
 */
@Injectable()
export class RateLimitGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly storage: RateLimitStorage,
    private readonly config: AppConfig,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(SKIP_RATE_LIMIT, targets)) return true;
    const http = context.switchToHttp();
    const request = http.getRequest<Request>();
    const response = http.getResponse<Response>();
    const ip = request.ip ?? request.socket.remoteAddress ?? 'unknown';
    const throttlers: Throttler[] = [{ name: 'default', tracker: ip, limit: this.config.RATE_LIMIT_PER_MINUTE }];
    if (this.reflector.getAllAndOverride<boolean>(AUTH_RATE_LIMIT, targets)) {
      throttlers.push(
        { name: 'auth-ip', tracker: ip, limit: this.config.AUTH_IP_RATE_LIMIT_PER_MINUTE },
        // The guard runs before validation: the raw body only picks the counter.
        { name: 'auth-account', tracker: `${ip}|${submittedAccount(request.body)}`, limit: this.config.AUTH_RATE_LIMIT_PER_MINUTE },
      );
    }
    for (const throttler of throttlers) {
      const key = createHash('sha256').update(throttler.tracker).digest('hex');
      const record = await this.storage.increment(key, WINDOW_MS, throttler.limit, WINDOW_MS, throttler.name);
      if (throttler.name === 'default') {
        response.setHeader('X-RateLimit-Limit', String(throttler.limit));
        response.setHeader('X-RateLimit-Remaining', String(Math.max(0, throttler.limit - record.totalHits)));
        response.setHeader('X-RateLimit-Reset', String(record.timeToExpire));
      }
      if (record.isBlocked) {
        const retryAfter = Math.max(1, record.timeToBlockExpire);
        const what = throttler.name === 'default' ? 'requests' : 'sign-in attempts';
        throw new DomainException(ErrorCode.RATE_LIMITED, `Too many ${what}; try again in ${retryAfter} seconds`, undefined, {
          'Retry-After': String(retryAfter),
        });
      }
    }
    return true;
  }
}
