import { createHash } from 'node:crypto';
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as client from 'openid-client';
import pg from 'pg';
import { registerUser, request, startTestServer, type JsonResponse, type TestServer } from '../support/server.js';

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const USER_CODE = /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/;

/** A free loopback port, so that the default PUBLIC_URL (http://HOST:PORT) names the real port. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolveListen) => server.listen(0, '127.0.0.1', resolveListen));
  const { port } = server.address() as { port: number };
  await new Promise((resolveClose) => server.close(resolveClose));
  return port;
}

/** POSTs form parameters as an OAuth client does (application/x-www-form-urlencoded). */
async function postForm(url: string, parameters: Record<string, string>): Promise<JsonResponse> {
  const response = await fetch(url, { method: 'POST', body: new URLSearchParams(parameters), headers: { accept: 'application/json' } });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
}

/** The OAuth error of RFC 6749 §5.2: 400, `{error, error_description}`, not cacheable. */
function expectOAuthError(response: JsonResponse, error: string): void {
  expect({ status: response.status, error: response.body?.error }).toEqual({ status: 400, error });
  expect(Object.keys(response.body).sort()).toEqual(['error', 'error_description']);
  expect(typeof response.body.error_description).toBe('string');
  expect(response.headers.get('cache-control')).toBe('no-store');
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
}

describe('Device authorization grant (RFC 8628)', () => {
  let app: TestServer;
  let db: pg.Client;
  let alice: Awaited<ReturnType<typeof registerUser>>;

  beforeAll(async () => {
    app = await startTestServer({ PORT: String(await freePort()) });
    db = new pg.Client({ connectionString: app.databaseUrl });
    await db.connect();
    alice = await registerUser(app.api);
  });

  afterAll(async () => {
    await db?.end();
    await app?.close();
  });

  async function startAuthorization(parameters: Record<string, string> = {}): Promise<{ device_code: string; user_code: string; interval: number }> {
    const response = await postForm(`${app.api}/auth/device/code`, parameters);
    expect(response.status).toBe(200);
    return response.body;
  }

  function poll(deviceCode: string, extra: Record<string, string> = {}): Promise<JsonResponse> {
    return postForm(`${app.api}/auth/device/token`, { grant_type: DEVICE_GRANT, device_code: deviceCode, ...extra });
  }

  /** Approves or denies as Alice, or anonymously with `token` null. */
  function decide(action: 'approve' | 'deny', userCode: unknown, token: string | null = alice.accessToken): Promise<JsonResponse> {
    return request('POST', `${app.api}/auth/device/${action}`, { token: token ?? undefined, body: { userCode } });
  }

  it('serves RFC 8414 metadata at the root whose issuer is the public URL, naming the device and token endpoints', async () => {
    const response = await request('GET', `${app.url}/.well-known/oauth-authorization-server`);
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      issuer: app.url,
      device_authorization_endpoint: `${app.url}/api/v1/auth/device/code`,
      token_endpoint: `${app.url}/api/v1/auth/device/token`,
      grant_types_supported: [DEVICE_GRANT, 'refresh_token'],
      token_endpoint_auth_methods_supported: ['none'],
    });
    expect(Array.isArray(response.body.response_types_supported)).toBe(true);
  });

  it('runs the whole grant with openid-client: discovery, device authorization, approval by a signed-in user, tokens that act as that user', async () => {
    const config = await client.discovery(new URL(app.url), 'devpocket-cli', undefined, undefined, {
      algorithm: 'oauth2',
      execute: [client.allowInsecureRequests],
    });
    const authorization = await client.initiateDeviceAuthorization(config, { scope: 'environments terminal' });
    expect(authorization.user_code).toMatch(USER_CODE);
    expect(authorization.verification_uri).toBe(`${app.url}/device`);
    expect(authorization.verification_uri_complete).toBe(`${app.url}/device?user_code=${authorization.user_code}`);
    expect(authorization.expires_in).toBe(900);
    expect(authorization.interval).toBe(5);

    const polling = client.pollDeviceAuthorizationGrant(config, authorization);
    // What a person types: lower case, no dash.
    const approved = await decide('approve', authorization.user_code.replace('-', '').toLowerCase());
    expect(approved.status).toBe(204);
    const tokens = await polling;

    expect(tokens.token_type).toBe('bearer');
    expect(tokens.scope).toBe('environments terminal');
    expect(tokens.expires_in).toBeGreaterThan(0);
    expect(typeof tokens.refresh_token).toBe('string');
    const me = await request('GET', `${app.api}/users/me`, { token: tokens.access_token });
    expect(me.status).toBe(200);
    expect(me.body.id).toBe(alice.user.id);

    // Single use: the approved device code is consumed by the exchange.
    expectOAuthError(await poll(authorization.device_code, { client_id: 'devpocket-cli' }), 'invalid_grant');

    // The refresh_token grant the metadata advertises rotates the refresh token.
    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!);
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
    expect((await request('GET', `${app.api}/users/me`, { token: refreshed.access_token })).body.id).toBe(alice.user.id);
    expectOAuthError(await postForm(`${app.api}/auth/device/token`, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token! }), 'invalid_grant');
  }, 30_000);

  it('answers authorization_pending while the user has not decided, and slow_down when polled faster than the interval, which then grows by 5 s', async () => {
    const { device_code: deviceCode, user_code: userCode } = await startAuthorization();
    const normalized = userCode.replace('-', '');
    expectOAuthError(await poll(deviceCode), 'authorization_pending');
    expectOAuthError(await poll(deviceCode), 'slow_down');
    const interval = async () => (await db.query('SELECT interval_seconds FROM device_authorizations WHERE user_code = $1', [normalized])).rows[0].interval_seconds;
    expect(await interval()).toBe(10);
    expectOAuthError(await poll(deviceCode), 'slow_down');
    expect(await interval()).toBe(15);
    // Once the (grown) interval has passed since the last poll, the answer is pending again.
    await db.query(`UPDATE device_authorizations SET last_polled_at = now() - interval '14 seconds' WHERE user_code = $1`, [normalized]);
    expectOAuthError(await poll(deviceCode), 'slow_down');
    await db.query(`UPDATE device_authorizations SET last_polled_at = now() - interval '21 seconds' WHERE user_code = $1`, [normalized]);
    expectOAuthError(await poll(deviceCode), 'authorization_pending');
  });

  it('answers access_denied once the user denies, and refuses to approve that code afterwards', async () => {
    const { device_code: deviceCode, user_code: userCode } = await startAuthorization({ client_id: 'devpocket-cli' });
    expect((await decide('deny', userCode)).status).toBe(204);
    expectOAuthError(await poll(deviceCode, { client_id: 'devpocket-cli' }), 'access_denied');
    const again = await decide('approve', userCode);
    expect(again.status).toBe(400);
    expect(again.body.code).toBe('DEVICE_CODE_USED');
  });

  it('answers expired_token after the code expires, and refuses to approve an expired code', async () => {
    const { device_code: deviceCode, user_code: userCode } = await startAuthorization();
    await db.query(`UPDATE device_authorizations SET expires_at = now() - interval '1 second' WHERE user_code = $1`, [userCode.replace('-', '')]);
    expectOAuthError(await poll(deviceCode), 'expired_token');
    const approve = await decide('approve', userCode);
    expect(approve.status).toBe(400);
    expect(approve.body).toMatchObject({ statusCode: 400, code: 'DEVICE_CODE_EXPIRED' });
  });

  it('stores the device code only as its SHA-256 and the user code as its 8 letters', async () => {
    const { device_code: deviceCode, user_code: userCode } = await startAuthorization({ client_id: 'devpocket-cli', scope: 'environments' });
    expect(deviceCode.length).toBeGreaterThanOrEqual(43);
    const { rows } = await db.query('SELECT row_to_json(d)::text AS text, device_code_hash, user_code, status FROM device_authorizations d WHERE user_code = $1', [
      userCode.replace('-', ''),
    ]);
    expect(rows).toHaveLength(1);
    expect(rows[0].device_code_hash).toBe(createHash('sha256').update(deviceCode).digest('hex'));
    expect(rows[0].status).toBe('pending');
    expect(rows[0].text).not.toContain(deviceCode);
  });

  it('refuses bad token requests with the RFC error codes', async () => {
    const { device_code: deviceCode } = await startAuthorization({ client_id: 'devpocket-cli' });
    expectOAuthError(await postForm(`${app.api}/auth/device/token`, { device_code: deviceCode }), 'invalid_request');
    expectOAuthError(await postForm(`${app.api}/auth/device/token`, { grant_type: 'password', device_code: deviceCode }), 'unsupported_grant_type');
    expectOAuthError(await postForm(`${app.api}/auth/device/token`, { grant_type: DEVICE_GRANT }), 'invalid_request');
    expectOAuthError(await poll('not-a-device-code'), 'invalid_grant');
    expectOAuthError(await poll(deviceCode, { client_id: 'another-client' }), 'invalid_grant');
    const repeated = await fetch(`${app.api}/auth/device/token`, { method: 'POST', body: `grant_type=${encodeURIComponent(DEVICE_GRANT)}&device_code=a&device_code=b`, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(repeated.status).toBe(400);
    expect(((await repeated.json()) as { error: string }).error).toBe('invalid_request');
    expectOAuthError(await postForm(`${app.api}/auth/device/code`, { scope: 'bad"scope' }), 'invalid_scope');
  });

  it('accepts a JSON device authorization request too, ignoring unknown parameters', async () => {
    const response = await request('POST', `${app.api}/auth/device/code`, { body: { client_id: 'devpocket-cli', audience: 'ignored' } });
    expect(response.status).toBe(200);
    expect(Object.keys(response.body).sort()).toEqual(['device_code', 'expires_in', 'interval', 'user_code', 'verification_uri', 'verification_uri_complete']);
    expect(response.body.user_code).toMatch(USER_CODE);
  });

  it('answers approvals of unknown or malformed codes, or without a token, in the API error shape', async () => {
    expect(await decide('approve', 'BCDF-GHJK')).toMatchObject({ status: 404, body: { statusCode: 404, code: 'DEVICE_CODE_NOT_FOUND' } });
    expect(await decide('approve', 'ABCD-EFGH')).toMatchObject({ status: 400, body: { code: 'VALIDATION_FAILED' } });
    expect(await decide('deny', 12345678)).toMatchObject({ status: 400, body: { code: 'VALIDATION_FAILED' } });
    const { user_code: userCode } = await startAuthorization();
    expect(await decide('approve', userCode, null)).toMatchObject({ status: 401, body: { code: 'UNAUTHORIZED' } });
    expect((await db.query('SELECT status FROM device_authorizations WHERE user_code = $1', [userCode.replace('-', '')])).rows[0].status).toBe('pending');
  });

  it('serves the verification page at /device as self-contained HTML, without a token', async () => {
    const response = await fetch(`${app.url}/device?user_code=BCDF-GHJK`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(response.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(response.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    const html = await response.text();
    expect(html).toContain('id="user_code"');
    expect(html).toContain('api/v1/auth/device/');
    expect(html).not.toMatch(/<(script|link|img)[^>]+(src|href)=/);
  });
});
