import { randomBytes } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { Strategy as GoogleStrategy, type Profile } from 'passport-google-oauth20';
import { DomainException, ErrorCode } from '../common/domain.exception.js';
import { AppConfig } from '../config/app-config.js';
import { toGoogleAccount, type GoogleAccount } from './google-id-token.verifier.js';

/** Path of the web flow's routes, where its cookie is sent. */
const FLOW_PATH = '/api/v1/auth/google';
const COOKIE = 'devpocket_google_oauth';
const COOKIE_MAX_AGE_MS = 10 * 60 * 1000;
const SCOPE = ['openid', 'email', 'profile'];

/** Passport's strategy actions, which the strategy calls to report how an attempt ended. */
interface StrategyAttempt {
  authenticate(req: Request, options: Record<string, unknown>): void;
  redirect(url: string): void;
  success(user: Profile): void;
  fail(challenge?: unknown, status?: number): void;
  error(error: Error): void;
  pass(): void;
}

type AttemptOutcome = { redirect: string } | { profile: Profile };

/**
 * Keeps the authorization request's `state` (RFC 6749 §10.12, against login CSRF) and its PKCE
 * verifier (RFC 7636) in an HttpOnly, SameSite=Lax cookie scoped to the flow's path, so the
 * server needs no session store. passport-oauth2 calls `store` with 5 arguments and `verify`
 * with 4 when `pkce` is on; `verify` hands back the verifier.
 */
class CookieStateStore {
  constructor(private readonly secure: boolean) {}

  store(req: Request, verifier: string, _state: unknown, _meta: unknown, callback: (error: Error | null, state?: string) => void): void {
    const state = randomBytes(24).toString('base64url');
    (req.res as Response).cookie(COOKIE, `${state}.${verifier}`, { httpOnly: true, sameSite: 'lax', secure: this.secure, path: FLOW_PATH, maxAge: COOKIE_MAX_AGE_MS });
    callback(null, state);
  }

  verify(req: Request, state: unknown, _meta: unknown, callback: (error: Error | null, ok: string | false, info?: { message: string }) => void): void {
    (req.res as Response).clearCookie(COOKIE, { httpOnly: true, sameSite: 'lax', secure: this.secure, path: FLOW_PATH });
    const [expected, verifier] = (readCookie(req, COOKIE) ?? '').split('.');
    if (!expected || !verifier || typeof state !== 'string' || state !== expected) {
      callback(null, false, { message: 'The sign-in request does not match this browser (state mismatch); start again' });
      return;
    }
    callback(null, verifier);
  }
}

function readCookie(req: Request, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const at = part.indexOf('=');
    if (at > 0 && part.slice(0, at).trim() === name) return decodeURIComponent(part.slice(at + 1).trim());
  }
  return undefined;
}

/**
 * Google sign-in in a browser (OAuth 2.0 authorization code flow with PKCE) through
 * passport-google-oauth20, with configurable authorization, token and userinfo endpoints. The
 * strategy is used directly, not registered with passport: it exists only when GOOGLE_CLIENT_ID
 * and GOOGLE_CLIENT_SECRET are both set.
 */
@Injectable()
export class GoogleWebSignIn {
  private readonly logger = new Logger(GoogleWebSignIn.name);
  private readonly strategy?: GoogleStrategy;

  constructor(private readonly config: AppConfig) {
    if (!config.GOOGLE_CLIENT_ID || !config.GOOGLE_CLIENT_SECRET) return;
    this.strategy = new GoogleStrategy(
      {
        clientID: config.GOOGLE_CLIENT_ID,
        clientSecret: config.GOOGLE_CLIENT_SECRET,
        authorizationURL: config.GOOGLE_AUTHORIZATION_URL,
        tokenURL: config.GOOGLE_TOKEN_URL,
        userProfileURL: config.GOOGLE_USERINFO_URL,
        scope: SCOPE,
        pkce: true,
        state: true,
        // The types know only the 2/3-argument store; passport-oauth2 dispatches on arity.
        store: new CookieStateStore(config.publicUrl.startsWith('https:')) as never,
      },
      (_accessToken: string, _refreshToken: string, profile: Profile, done: (error: Error | null, user?: Profile) => void) => done(null, profile),
    );
  }

  /**
   * The URL of Google's consent page to redirect the browser to; sets the state cookie on the response.
   * @throws DomainException GOOGLE_SIGN_IN_NOT_CONFIGURED (404) when the web flow is not configured
   */
  async authorizationUrl(req: Request): Promise<string> {
    const outcome = await this.attempt(req);
    if (!('redirect' in outcome)) throw new DomainException(ErrorCode.GOOGLE_SIGN_IN_FAILED, 'Unexpected answer from the Google sign-in strategy');
    return outcome.redirect;
  }

  /**
   * Completes the flow at the callback: checks `state`, exchanges the code (with the PKCE
   * verifier) at the token endpoint and reads the account at the userinfo endpoint.
   * @throws DomainException GOOGLE_SIGN_IN_NOT_CONFIGURED (404); GOOGLE_SIGN_IN_FAILED (401) when the user
   *   declined, the state does not match, the code is refused, or the profile has no email
   */
  async complete(req: Request): Promise<GoogleAccount> {
    this.assertConfigured();
    if (typeof req.query.code !== 'string') {
      const reason = typeof req.query.error === 'string' ? req.query.error : 'no authorization code';
      throw new DomainException(ErrorCode.GOOGLE_SIGN_IN_FAILED, `Google sign-in did not complete (${reason})`);
    }
    const outcome = await this.attempt(req);
    const account = 'profile' in outcome ? toGoogleAccount(outcome.profile._json as Record<string, unknown>) : undefined;
    if (!account) throw new DomainException(ErrorCode.GOOGLE_SIGN_IN_FAILED, 'Google did not share the account\'s email (request the "email" scope)');
    return account;
  }

  private assertConfigured(): GoogleStrategy {
    if (!this.strategy) throw new DomainException(ErrorCode.GOOGLE_SIGN_IN_NOT_CONFIGURED, 'Google sign-in is not configured on this server');
    return this.strategy;
  }

  /** Runs the strategy once for this request, as passport's middleware would, and reports how it ended. */
  private attempt(req: Request): Promise<AttemptOutcome> {
    const strategy = this.assertConfigured();
    return new Promise<AttemptOutcome>((resolve, reject) => {
      const attempt = Object.create(strategy) as StrategyAttempt;
      attempt.redirect = (url) => resolve({ redirect: url });
      attempt.success = (profile) => resolve({ profile });
      attempt.fail = (challenge) => {
        const message = (challenge as { message?: unknown } | undefined)?.message;
        reject(new DomainException(ErrorCode.GOOGLE_SIGN_IN_FAILED, typeof message === 'string' && message ? message : 'Google sign-in failed'));
      };
      attempt.error = (error) => {
        this.logger.warn(`Google sign-in failed: ${error.message}`);
        reject(new DomainException(ErrorCode.GOOGLE_SIGN_IN_FAILED, 'Google did not accept the sign-in (code exchange or profile request failed)'));
      };
      attempt.pass = () => reject(new DomainException(ErrorCode.GOOGLE_SIGN_IN_FAILED, 'Google sign-in failed'));
      try {
        // Read per request: PUBLIC_URL's default names the port only once the server listens.
        attempt.authenticate(req, { session: false, callbackURL: `${this.config.publicUrl}${FLOW_PATH}/callback` });
      } catch (error) {
        attempt.error(error as Error);
      }
    });
  }
}
