import { Injectable, Logger } from '@nestjs/common';
import { AuthService } from '../auth/auth.service.js';
import type { AuthResultDto } from '../auth/dto/auth.dto.js';
import { Clock } from '../common/clock.js';
import { DomainException, ErrorCode } from '../common/domain.exception.js';
import { violatedUniqueConstraint } from '../common/postgres-errors.js';
import { AppConfig } from '../config/app-config.js';
import type { DeviceAuthorizationEntity } from './device-authorization.entity.js';
import { DeviceAuthorizationsRepository, type PollDecision } from './device-authorizations.repository.js';
import {
  DEVICE_CODE_GRANT_TYPE,
  type AuthorizationServerMetadata,
  type DeviceAuthorizationResponseDto,
  type DeviceTokenResponseDto,
} from './dto/device-auth.dto.js';
import { OAuthError, readOAuthParameters } from './oauth-error.js';
import { formatUserCode, generateUserCode } from './user-code.js';
import { newOpaqueToken, tokenHash } from '../common/opaque-token.js';

/** Seconds a client waits between polls (RFC 8628 §3.2 `interval`, its default 5) and what each `slow_down` adds (§3.5). */
const POLL_INTERVAL_SECONDS = 5;
const SLOW_DOWN_STEP_SECONDS = 5;
/** How long expired authorizations stay (answering `expired_token`) before they are deleted and their user codes reused. */
const RETENTION_AFTER_EXPIRY_MS = 24 * 60 * 60 * 1000;
/** Attempts at a free user code: 20^8 codes make a clash rare, two in a row rarer still. */
const USER_CODE_ATTEMPTS = 5;
/** RFC 6749 §3.3 scope: space-separated tokens of NQCHAR; RFC 6749 Appendix A.1 client_id: VSCHAR. */
const SCOPE_PATTERN = /^[\x21\x23-\x5B\x5D-\x7E]+( [\x21\x23-\x5B\x5D-\x7E]+)*$/;
const CLIENT_ID_PATTERN = /^[\x20-\x7E]{1,255}$/;
const MAX_SCOPE_LENGTH = 1000;


/** What a poll of the token endpoint decided: an OAuth error to answer, or the account to issue tokens for. */
type PollResult = { error: OAuthError } | { userId: string; scope: string | null };

/**
 * OAuth 2.0 Device Authorization Grant (RFC 8628) for command-line clients: device authorization
 * requests (§3.1–§3.2), the user's approval or denial through the verification page (§3.3), and the
 * polled token exchange (§3.4–§3.5), whose tokens are the ones a sign-in gives. Every state is in
 * the database (device codes only hashed), so any replica can answer any step.
 */
@Injectable()
export class DeviceAuthService {
  private readonly logger = new Logger(DeviceAuthService.name);

  constructor(
    private readonly config: AppConfig,
    private readonly authorizations: DeviceAuthorizationsRepository,
    private readonly auth: AuthService,
    private readonly clock: Clock,
  ) {}

  /**
   * RFC 8628 §3.1–§3.2: starts a device authorization from the form (or JSON) parameters
   * `client_id?` and `scope?`. The device code is 256 random bits (base64url), the user code 8
   * letters shown as `XXXX-XXXX`; both live DEVICE_CODE_TTL seconds.
   * @throws OAuthError invalid_request (bad client_id or repeated parameter), invalid_scope (malformed scope)
   */
  async startAuthorization(body: unknown): Promise<DeviceAuthorizationResponseDto> {
    const { client_id: clientId, scope } = readOAuthParameters(body, ['client_id', 'scope'] as const);
    if (clientId !== undefined && !CLIENT_ID_PATTERN.test(clientId)) throw new OAuthError('invalid_request', 'client_id must be 1-255 printable ASCII characters');
    if (scope !== undefined && (scope.length > MAX_SCOPE_LENGTH || !SCOPE_PATTERN.test(scope))) {
      throw new OAuthError('invalid_scope', `scope must be space-separated scope tokens, at most ${MAX_SCOPE_LENGTH} characters`);
    }
    const now = this.clock.now();
    await this.authorizations.deleteExpiredBefore(new Date(now.getTime() - RETENTION_AFTER_EXPIRY_MS));
    const { token: deviceCode, hash: deviceCodeHash } = newOpaqueToken();
    const expiresAt = new Date(now.getTime() + this.config.DEVICE_CODE_TTL * 1000);
    const userCode = await this.insertWithFreeUserCode({
      deviceCodeHash,
      clientId: clientId ?? null,
      scope: scope ?? null,
      intervalSeconds: POLL_INTERVAL_SECONDS,
      expiresAt,
    });
    const verificationUri = `${this.config.publicUrl}/device`;
    const shown = formatUserCode(userCode);
    return {
      device_code: deviceCode,
      user_code: shown,
      verification_uri: verificationUri,
      verification_uri_complete: `${verificationUri}?user_code=${shown}`,
      expires_in: this.config.DEVICE_CODE_TTL,
      interval: POLL_INTERVAL_SECONDS,
    };
  }

  /**
   * The token endpoint (RFC 6749 §3.2) for the device_code grant (RFC 8628 §3.4–§3.5) and the
   * refresh_token grant (RFC 6749 §6, rotating like POST /auth/refresh). An approved device code is
   * exchanged once; then it is consumed.
   * @throws OAuthError invalid_request, unsupported_grant_type, authorization_pending, slow_down
   * (polled sooner than `interval` seconds after the last poll: the interval then grows by 5 s),
   * access_denied, expired_token, invalid_grant (unknown, consumed, other client's code, bad refresh token)
   */
  async exchange(body: unknown): Promise<DeviceTokenResponseDto> {
    const parameters = readOAuthParameters(body, ['grant_type', 'device_code', 'refresh_token', 'client_id'] as const);
    if (parameters.grant_type === undefined) throw new OAuthError('invalid_request', 'grant_type is required');
    if (parameters.grant_type === 'refresh_token') return this.refresh(parameters.refresh_token);
    if (parameters.grant_type !== DEVICE_CODE_GRANT_TYPE) {
      throw new OAuthError('unsupported_grant_type', `grant_type must be ${DEVICE_CODE_GRANT_TYPE} or refresh_token`);
    }
    if (parameters.device_code === undefined) throw new OAuthError('invalid_request', 'device_code is required');
    const now = this.clock.now();
    const result = await this.authorizations.poll(tokenHash(parameters.device_code), (authorization) => this.judgePoll(authorization, parameters.client_id, now));
    if (!result) throw new OAuthError('invalid_grant', 'The device code is unknown');
    if ('error' in result) throw result.error;
    let session: AuthResultDto;
    try {
      session = await this.auth.issueForUser(result.userId);
    } catch (error) {
      if (error instanceof DomainException && error.code === ErrorCode.ACCOUNT_DISABLED) throw new OAuthError('invalid_grant', error.message);
      throw error;
    }
    this.logger.log(`device authorization exchanged for account ${result.userId}`);
    return this.tokenResponse(session, result.scope);
  }

  /**
   * RFC 8628 §3.3: the signed-in person `userId` approves the pending request of `userCode`
   * (normalized, 8 letters); the polling device then gets tokens for this account.
   * @throws DomainException DEVICE_CODE_NOT_FOUND (404), DEVICE_CODE_EXPIRED (400), DEVICE_CODE_USED (400, already approved or denied)
   */
  async approve(userId: string, userCode: string): Promise<void> {
    await this.decide(userId, userCode, 'approved');
  }

  /**
   * RFC 8628 §3.3: the signed-in person refuses the request of `userCode`; the device's next poll gets `access_denied`.
   * @throws DomainException DEVICE_CODE_NOT_FOUND (404), DEVICE_CODE_EXPIRED (400), DEVICE_CODE_USED (400)
   */
  async deny(userId: string, userCode: string): Promise<void> {
    await this.decide(userId, userCode, 'denied');
  }

  /**
   * RFC 8414 §2 authorization server metadata, `issuer` being PUBLIC_URL (RFC 8414 §3.3: clients
   * compare it with the URL they discovered from). Used by RFC 8628 §4 clients to find the endpoints.
   */
  metadata(): AuthorizationServerMetadata {
    const base = this.config.publicUrl;
    return {
      issuer: base,
      token_endpoint: `${base}/api/v1/auth/device/token`,
      device_authorization_endpoint: `${base}/api/v1/auth/device/code`,
      grant_types_supported: [DEVICE_CODE_GRANT_TYPE, 'refresh_token'],
      // No authorization endpoint: no response type is supported.
      response_types_supported: [],
      token_endpoint_auth_methods_supported: ['none'],
      service_documentation: `${base}/api/docs`,
    };
  }

  /** RFC 8628 §3.5: the answer to one poll of a locked authorization, and what it changes. */
  private judgePoll(authorization: DeviceAuthorizationEntity, clientId: string | undefined, now: Date): PollDecision<PollResult> {
    const answer = (error: OAuthError, changes: PollDecision<PollResult>['changes'] = {}): PollDecision<PollResult> => ({ changes, result: { error } });
    if (authorization.clientId !== null && clientId !== undefined && clientId !== authorization.clientId) {
      return answer(new OAuthError('invalid_grant', 'The device code was issued to another client'));
    }
    switch (authorization.status) {
      case 'consumed':
        return answer(new OAuthError('invalid_grant', 'The device code was already exchanged'));
      case 'denied':
        return answer(new OAuthError('access_denied', 'The user denied the authorization request'));
      case 'approved':
        if (authorization.expiresAt <= now) return answer(new OAuthError('expired_token', 'The device code expired; start again'));
        return { changes: { status: 'consumed', lastPolledAt: now }, result: { userId: authorization.userId!, scope: authorization.scope } };
      case 'pending': {
        if (authorization.expiresAt <= now) return answer(new OAuthError('expired_token', 'The device code expired; start again'));
        const last = authorization.lastPolledAt;
        if (last && now.getTime() - last.getTime() < authorization.intervalSeconds * 1000) {
          const intervalSeconds = authorization.intervalSeconds + SLOW_DOWN_STEP_SECONDS;
          return answer(new OAuthError('slow_down', `Polled too often: wait at least ${intervalSeconds} seconds between requests`), { lastPolledAt: now, intervalSeconds });
        }
        return answer(new OAuthError('authorization_pending', 'The user has not approved the request yet'), { lastPolledAt: now });
      }
    }
  }

  private async decide(userId: string, userCode: string, status: 'approved' | 'denied'): Promise<void> {
    const now = this.clock.now();
    if (await this.authorizations.decidePending(userCode, userId, status, now)) {
      this.logger.log(`device authorization ${status} by account ${userId}`);
      return;
    }
    const authorization = await this.authorizations.findByUserCode(userCode);
    if (!authorization) throw new DomainException(ErrorCode.DEVICE_CODE_NOT_FOUND, 'No device is waiting with this code');
    if (authorization.status !== 'pending') throw new DomainException(ErrorCode.DEVICE_CODE_USED, 'This code was already used; start again on the device');
    throw new DomainException(ErrorCode.DEVICE_CODE_EXPIRED, 'This code expired; start again on the device');
  }

  private async refresh(refreshToken: string | undefined): Promise<DeviceTokenResponseDto> {
    if (refreshToken === undefined) throw new OAuthError('invalid_request', 'refresh_token is required');
    try {
      return this.tokenResponse(await this.auth.refresh(refreshToken), null);
    } catch (error) {
      if (error instanceof DomainException && error.status === 401) throw new OAuthError('invalid_grant', error.message);
      throw error;
    }
  }

  /** Inserts the authorization under a fresh user code, drawing again when the code is taken; returns the code. */
  private async insertWithFreeUserCode(authorization: Omit<Parameters<DeviceAuthorizationsRepository['insert']>[0], 'userCode'>): Promise<string> {
    for (let attempt = 1; ; attempt += 1) {
      const userCode = generateUserCode();
      try {
        await this.authorizations.insert({ ...authorization, userCode });
        return userCode;
      } catch (error) {
        if (attempt < USER_CODE_ATTEMPTS && violatedUniqueConstraint(error) === 'uq_device_authorizations_user_code') continue;
        throw error;
      }
    }
  }

  private tokenResponse(session: AuthResultDto, scope: string | null): DeviceTokenResponseDto {
    return {
      access_token: session.accessToken,
      refresh_token: session.refreshToken,
      token_type: 'Bearer',
      expires_in: session.expiresIn,
      ...(scope ? { scope } : {}),
    };
  }
}
