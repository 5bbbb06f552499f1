import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { request, startTestServer, type JsonResponse, type TestServer, uniqueName } from '../support/server.js';

const PASSWORD = 'correct horse battery';
/** The Redis the shared-storage tests use (DEVPOCKET_TEST_REDIS_URL, default the local one). */
const REDIS_URL = process.env.DEVPOCKET_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Whether that Redis answers PING: a user's fresh machine has none, the project's machines and CI do. */
async function redisAnswers(url: string): Promise<boolean> {
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 1000, retryStrategy: () => null });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    return (await probe.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}
const REDIS_AVAILABLE = await redisAnswers(REDIS_URL);
if (!REDIS_AVAILABLE) console.warn(`rate limits in Redis not tested: no Redis answers at ${REDIS_URL} (set DEVPOCKET_TEST_REDIS_URL)`);

/** A JSON request sent from the loopback address `localAddress` (Linux answers all of 127.0.0.0/8), i.e. from another client IP. */
function requestFrom(localAddress: string, method: string, url: string, body?: unknown, headers: Record<string, string> = {}): Promise<JsonResponse> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const outgoing = httpRequest(url, { method, localAddress, headers: { ...headers, ...(payload ? { 'content-type': 'application/json' } : {}) } }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const responseHeaders = new Headers();
        for (const [name, value] of Object.entries(response.headers)) if (typeof value === 'string') responseHeaders.set(name, value);
        resolve({ status: response.statusCode ?? 0, headers: responseHeaders, body: text ? JSON.parse(text) : undefined });
      });
    });
    outgoing.on('error', reject);
    outgoing.end(payload);
  });
}

/** A 429 in the API's error shape with a Retry-After in whole seconds within the minute window. */
function expectRateLimited(response: JsonResponse): void {
  expect(response.status).toBe(429);
  expect(response.body).toMatchObject({ statusCode: 429, code: 'RATE_LIMITED', message: expect.any(String) });
  const retryAfter = Number(response.headers.get('retry-after'));
  expect(Number.isInteger(retryAfter)).toBe(true);
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(60);
}

describe('Rate limits', () => {
  describe('on sign-in, per IP and account and per IP', () => {
    let app: TestServer;

    beforeAll(async () => {
      app = await startTestServer({ AUTH_RATE_LIMIT_PER_MINUTE: '3', AUTH_IP_RATE_LIMIT_PER_MINUTE: '6', RATE_LIMIT_PER_MINUTE: '600' });
    });

    afterAll(async () => {
      await app?.close();
    });

    async function registerFrom(ip: string, name: string): Promise<void> {
      const response = await requestFrom(ip, 'POST', `${app.api}/auth/register`, { email: `${name}@example.com`, username: name, password: PASSWORD });
      expect(response.status).toBe(201);
    }

    it('refuses the 4th sign-in of one account from one IP with 429, while other accounts and other IPs go on until the IP limit', async () => {
      const alice = uniqueName('alice');
      const bob = uniqueName('bob');
      // Registered from another IP, so they count nothing against 127.0.0.1.
      await registerFrom('127.0.0.2', alice);
      await registerFrom('127.0.0.2', bob);
      const login = (name: string, ip = '127.0.0.1', password = PASSWORD) => requestFrom(ip, 'POST', `${app.api}/auth/login`, { email: `${name}@example.com`, password });

      expect((await login(alice, '127.0.0.1', 'wrong password!')).status).toBe(401);
      expect((await login(alice)).status).toBe(200);
      expect((await login(alice)).status).toBe(200);
      const fourth = await login(alice);
      expectRateLimited(fourth);
      expect(fourth.body.message).toMatch(/sign-in/);

      // Same account from another IP: its own counter.
      expect((await login(alice, '127.0.0.3')).status).toBe(200);
      // Another account from the same IP: allowed until the IP's 6 attempts (alice used 4).
      expect((await login(bob)).status).toBe(200);
      expect((await login(bob)).status).toBe(200);
      expectRateLimited(await login(bob));
    });

    it('counts registrations with sign-ins', async () => {
      const carol = uniqueName('carol');
      const register = () => requestFrom('127.0.0.4', 'POST', `${app.api}/auth/register`, { email: `${carol}@example.com`, username: carol, password: PASSWORD });
      expect((await register()).status).toBe(201);
      expect((await register()).status).toBe(409);
      expect((await register()).status).toBe(409);
      expectRateLimited(await register());
    });

    it('limits password-reset requests for one email from one IP like sign-ins', async () => {
      const dave = uniqueName('dave');
      const forgot = () => requestFrom('127.0.0.5', 'POST', `${app.api}/auth/password/forgot`, { email: `${dave}@example.com` });
      for (let i = 0; i < 3; i += 1) expect((await forgot()).status).toBe(202);
      expectRateLimited(await forgot());
    });
  });

  describe('over the whole API, with helmet headers and CORS', () => {
    let app: TestServer;

    beforeAll(async () => {
      app = await startTestServer({ RATE_LIMIT_PER_MINUTE: '5', CORS_ORIGINS: 'https://app.example.com, http://localhost:5173/' });
    });

    afterAll(async () => {
      await app?.close();
    });

    it('does not limit health checks', async () => {
      for (let i = 0; i < 8; i += 1) expect((await request('GET', `${app.api}/health`)).status).toBe(200);
    });

    it('sends helmet security headers, and a CSP that lets the Swagger UI run', async () => {
      const response = await request('GET', `${app.api}/health`);
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(response.headers.get('x-frame-options')).toBe('SAMEORIGIN');
      expect(response.headers.get('x-powered-by')).toBeNull();
      const csp = response.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("script-src 'self' 'unsafe-inline'");
      expect(csp).not.toContain('upgrade-insecure-requests');

      const page = await fetch(`${app.url}/api/docs/`);
      expect(page.status).toBe(200);
      const html = await page.text();
      expect(html).toContain('swagger-ui');
      const assets = [...html.matchAll(/(?:src|href)="\.?\/?([^"]+\.(?:js|css))"/g)].map((match) => match[1]);
      expect(assets.length).toBeGreaterThan(0);
      for (const asset of assets) expect((await fetch(`${app.url}/api/docs/${asset}`)).status).toBe(200);
    });

    it('answers CORS for allowed origins only', async () => {
      const allowed = await request('GET', `${app.api}/health`, { headers: { origin: 'https://app.example.com' } });
      expect(allowed.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
      const trailing = await request('GET', `${app.api}/health`, { headers: { origin: 'http://localhost:5173' } });
      expect(trailing.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
      const preflight = await fetch(`${app.api}/auth/login`, {
        method: 'OPTIONS',
        headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
      });
      expect(preflight.status).toBe(204);
      expect(preflight.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
      const other = await request('GET', `${app.api}/health`, { headers: { origin: 'https://evil.example.com' } });
      expect(other.status).toBe(200);
      expect(other.headers.get('access-control-allow-origin')).toBeNull();
    });

    it('refuses a client over RATE_LIMIT_PER_MINUTE requests with 429 on any route', async () => {
      // Health checks and CORS preflights (answered before routing) counted nothing.
      const answers: number[] = [];
      for (let i = 0; i < 5; i += 1) answers.push((await request('GET', `${app.api}/templates`)).status);
      expect(answers).toEqual([401, 401, 401, 401, 401]);
      const limited = await request('GET', `${app.api}/users/me`);
      expectRateLimited(limited);
      expect(limited.headers.get('x-content-type-options')).toBe('nosniff');
      // Another client is not affected.
      expect((await requestFrom('127.0.0.5', 'GET', `${app.api}/templates`)).status).toBe(401);
    });
  });

  // Runs wherever a Redis answers (always in CI); a machine without one says so above instead.
  (REDIS_AVAILABLE ? describe : describe.skip)('in Redis (REDIS_URL)', () => {
    const prefix = `devpocket-test-${randomBytes(6).toString('hex')}:`;
    const env = { REDIS_URL, REDIS_KEY_PREFIX: prefix, AUTH_RATE_LIMIT_PER_MINUTE: '3' };
    let redis: Redis;

    beforeAll(() => {
      redis = new Redis(REDIS_URL);
    });

    afterAll(async () => {
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      await redis.quit();
    });

    it('shares the counts between servers (replicas) and keeps them under REDIS_KEY_PREFIX', async () => {
      const email = `${uniqueName('dave')}@example.com`;
      const login = (app: TestServer) => request('POST', `${app.api}/auth/login`, { body: { email, password: PASSWORD } });
      const first = await startTestServer(env);
      try {
        for (let i = 0; i < 3; i += 1) expect((await login(first)).status).toBe(401);
      } finally {
        await first.close();
      }
      expect((await redis.keys(`${prefix}throttle:*`)).length).toBeGreaterThan(0);
      // Only one server per process at a time (passport): the second starts after the first stopped.
      const second = await startTestServer(env);
      try {
        expectRateLimited(await login(second));
      } finally {
        await second.close();
      }
    });
  });
});

describe('readiness of the shared cache', () => {
  let app: TestServer;

  beforeAll(async () => {
    // Nothing listens on port 1: Redis is down from the start.
    app = await startTestServer({ REDIS_URL: 'redis://127.0.0.1:1' });
  });

  afterAll(async () => {
    await app?.close();
  });

  it('answers 503 naming the cache when Redis is down, and keeps serving requests', async () => {
    const ready = await request('GET', `${app.api}/health/ready`);
    expect(ready.status).toBe(503);
    expect(ready.body).toMatchObject({ status: 'error', cache: 'down', database: 'up' });
    expect((await request('GET', `${app.api}/health`)).status).toBe(200);
    expect((await request('POST', `${app.api}/auth/login`, { body: { email: 'nobody@example.com', password: PASSWORD } })).status).toBe(401);
  });
});
