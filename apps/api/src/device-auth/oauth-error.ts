import { Catch, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { Response } from 'express';

/**
 * Error codes of the token and device authorization endpoints: RFC 6749 §5.2 and RFC 8628 §3.5
 * (`authorization_pending`, `slow_down`, `access_denied`, `expired_token`).
 */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_grant'
  | 'invalid_scope'
  | 'unsupported_grant_type'
  | 'authorization_pending'
  | 'slow_down'
  | 'access_denied'
  | 'expired_token';

/**
 * An error answered in the OAuth shape (RFC 6749 §5.2) rather than the API's: HTTP 400
 * `{error, error_description}`. Only the OAuth endpoints throw it, and {@link OAuthErrorFilter} maps it.
 */
export class OAuthError extends Error {
  override name = 'OAuthError';

  constructor(
    readonly error: OAuthErrorCode,
    readonly description: string,
  ) {
    super(`${error}: ${description}`);
  }
}

/**
 * Writes an {@link OAuthError} as RFC 6749 §5.2 asks: 400, JSON `{error, error_description}`, not
 * cacheable. Scoped to the OAuth controller; every other error keeps the API's error body.
 */
@Catch(OAuthError)
export class OAuthErrorFilter implements ExceptionFilter {
  catch(exception: OAuthError, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<Response>();
    response.setHeader('Cache-Control', 'no-store');
    response.setHeader('Pragma', 'no-cache');
    response.status(400).json({ error: exception.error, error_description: exception.description });
  }
}

/**
 * Reads named OAuth parameters from a form or JSON body (RFC 6749 §3.1–§3.2): unknown parameters
 * are ignored, empty ones count as omitted, a repeated (array) or non-string one is refused.
 * @throws OAuthError invalid_request when the body is not an object or a parameter is repeated or not a string
 */
export function readOAuthParameters<Name extends string>(body: unknown, names: readonly Name[]): Partial<Record<Name, string>> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new OAuthError('invalid_request', 'The request body must be application/x-www-form-urlencoded parameters');
  }
  const parameters: Partial<Record<Name, string>> = {};
  for (const name of names) {
    const value: unknown = Object.prototype.hasOwnProperty.call(body, name) ? (body as Record<string, unknown>)[name] : undefined;
    if (value === undefined || value === '') continue;
    if (typeof value !== 'string') throw new OAuthError('invalid_request', `${name} must be given once, as a string`);
    parameters[name] = value;
  }
  return parameters;
}
