import { AsyncLocalStorage } from 'node:async_hooks';
import type { NextFunction, Request, Response } from 'express';

/** What the server knows of the HTTP request being served, wherever the code runs for it. */
interface RequestContext {
  ip: string | null;
}

const storage = new AsyncLocalStorage<RequestContext>();

/**
 * Express middleware that runs the rest of the request inside its {@link RequestContext}, so the
 * audit trail can name the client IP without every service passing it along. Mounted after the
 * body parsers (their stream callbacks would lose the context).
 */
export function requestContextMiddleware(request: Request, _response: Response, next: NextFunction): void {
  storage.run({ ip: request.ip ?? request.socket.remoteAddress ?? null }, next);
}

/** The client IP of the HTTP request being served; null outside one (a background job, a socket event). */
export function currentClientIp(): string | null {
  return storage.getStore()?.ip ?? null;
}
