import { Injectable, Logger } from '@nestjs/common';
import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload } from 'jose';
import { DomainException, ErrorCode } from '../common/domain.exception.js';
import { AppConfig } from '../config/app-config.js';

/** What DevPocket uses of a Google account, from an ID token or the userinfo endpoint. */
export interface GoogleAccount {
  /** Google's stable account id (`sub`). */
  subject: string;
  /** Lower-cased email. */
  email: string;
  /** Whether Google vouches that the account's owner controls `email` (`email_verified`). */
  emailVerified: boolean;
  name: string | null;
}

/** JOSE error codes that mean "Google's keys could not be fetched", not "the token is bad". */
const UNAVAILABLE_CODES = new Set(['ERR_JOSE_GENERIC', 'ERR_JWKS_TIMEOUT', 'ERR_JWKS_INVALID']);

/**
 * Verifies Google ID tokens as Google's "Authenticate with a backend server" guide asks: RS256
 * signature by a key of GOOGLE_JWKS_URL (cached, refetched on an unknown `kid`), `aud` equal to
 * GOOGLE_CLIENT_ID, `iss` in GOOGLE_ISSUERS, `exp` in the future (OpenID Connect Core §3.1.3.7).
 */
@Injectable()
export class GoogleIdTokenVerifier {
  private readonly logger = new Logger(GoogleIdTokenVerifier.name);
  private readonly keys: ReturnType<typeof createRemoteJWKSet>;

  constructor(private readonly config: AppConfig) {
    this.keys = createRemoteJWKSet(new URL(config.GOOGLE_JWKS_URL), { timeoutDuration: 5000 });
  }

  /** Whether GOOGLE_CLIENT_ID is set. */
  get configured(): boolean {
    return Boolean(this.config.GOOGLE_CLIENT_ID);
  }

  /**
   * The Google account an ID token was issued for.
   * @throws DomainException GOOGLE_SIGN_IN_NOT_CONFIGURED (404) without GOOGLE_CLIENT_ID; SERVICE_UNAVAILABLE (503) when Google's keys cannot be fetched;
   *   INVALID_ID_TOKEN (401) for a malformed, forged, expired, wrong-audience or wrong-issuer token, or one without an email
   */
  async verify(idToken: string): Promise<GoogleAccount> {
    const audience = this.config.GOOGLE_CLIENT_ID;
    if (!audience) throw new DomainException(ErrorCode.GOOGLE_SIGN_IN_NOT_CONFIGURED, 'Google sign-in is not configured on this server');
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(idToken, this.keys, { audience, issuer: this.config.GOOGLE_ISSUERS, algorithms: ['RS256'], clockTolerance: 5 }));
    } catch (error) {
      if (!(error instanceof errors.JOSEError) || UNAVAILABLE_CODES.has(error.code)) {
        this.logger.warn(`Google's keys could not be fetched: ${(error as Error).message}`);
        throw new DomainException(ErrorCode.SERVICE_UNAVAILABLE, "Google's signing keys could not be fetched; try again later");
      }
      throw new DomainException(ErrorCode.INVALID_ID_TOKEN, `The Google ID token is invalid: ${error.message}`);
    }
    const account = toGoogleAccount(payload);
    if (!account) throw new DomainException(ErrorCode.INVALID_ID_TOKEN, 'The Google ID token has no subject or email (request the "email" scope)');
    return account;
  }
}

/**
 * Reads the claims DevPocket needs from verified ID token claims or a userinfo response
 * (OpenID Connect Core §5.1). `email_verified` may be a boolean or, in older tokens, "true".
 * @returns undefined when `sub` or `email` is missing
 */
export function toGoogleAccount(claims: Record<string, unknown>): GoogleAccount | undefined {
  const { sub, email, email_verified: emailVerified, name } = claims;
  if (typeof sub !== 'string' || !sub || typeof email !== 'string' || !email.includes('@')) return undefined;
  return {
    subject: sub,
    email: email.trim().toLowerCase(),
    emailVerified: emailVerified === true || emailVerified === 'true',
    name: typeof name === 'string' && name.trim() ? name.trim().slice(0, 200) : null,
  };
}
