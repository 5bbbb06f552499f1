import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { createRunningEnvironment, registerUser, request, startTestServer, type JsonResponse, type TestServer } from '../support/server.js';

/** Strings an attacker types into every text field: SQL, shell, template, path and script injection, and oversize text. */
const HOSTILE = [
  "' OR '1'='1",
  "'; DROP TABLE users; --",
  'robert"); DELETE FROM environments; --',
  '$(touch /tmp/devpocket-pwned)',
  '`id`',
  '{{7*7}}',
  '${jndi:ldap://127.0.0.1/a}',
  '../../../../etc/passwd',
  '<script>alert(1)</script>',
  'a'.repeat(5000),
  '\u202e\u0007\u001b[2J',
];

const TABLES = ['users', 'refresh_tokens', 'environments', 'templates', 'clusters', 'api_keys'];

function expectRefusedCleanly(response: JsonResponse, label: string): void {
  const where = `${label} -> ${response.status} ${JSON.stringify(response.body).slice(0, 200)}`;
  expect({ where, below500: response.status < 500 }).toEqual({ where, below500: true });
  if (response.status >= 400) {
    expect({ where, code: response.body?.code }).toEqual({ where, code: expect.stringMatching(/^[A-Z_]+$/) });
    expect(JSON.stringify(response.body)).not.toMatch(/\bat .*\.(ts|js):\d+|QueryFailedError|SELECT |INSERT /);
  }
}

/** Sends one raw HTTP/1.1 request (headers a fetch client would refuse to send) and returns the status line and body. */
function rawRequest(port: number, text: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.end(text));
    let answer = '';
    socket.on('data', (chunk) => (answer += chunk.toString('latin1')));
    socket.on('error', reject);
    socket.on('close', () => resolve({ status: Number(answer.split(' ')[1]), body: answer.slice(answer.indexOf('\r\n\r\n') + 4) }));
  });
}

describe('security: what an attacker would try', () => {
  let app: TestServer;
  let db: pg.Client;
  let alice: Awaited<ReturnType<typeof registerUser>>;
  let mallory: Awaited<ReturnType<typeof registerUser>>;
  let aliceEnv: { id: string; name: string };
  let templateId: string;

  async function counts(): Promise<Record<string, number>> {
    const result: Record<string, number> = {};
    for (const table of TABLES) result[table] = Number((await db.query(`SELECT count(*) FROM ${table}`)).rows[0].count);
    return result;
  }

  beforeAll(async () => {
    app = await startTestServer();
    db = new pg.Client({ connectionString: app.databaseUrl });
    await db.connect();
    alice = await registerUser(app.api, 'alice');
    mallory = await registerUser(app.api, 'mallory');
    aliceEnv = await createRunningEnvironment(app.api, alice.accessToken, 'alice-env');
    templateId = aliceEnv ? (await request('GET', `${app.api}/environments/${aliceEnv.id}`, { token: alice.accessToken })).body.templateId : '';
  });

  afterAll(async () => {
    await db?.end();
    await app?.close();
  });

  it('puts hostile strings in every text field: no 500, no leak, no row written', async () => {
    const before = await counts();
    for (const hostile of HOSTILE) {
      const attempts: Array<[string, string, unknown, string?]> = [
        ['POST', '/auth/register', { email: hostile, username: hostile, password: hostile }],
        ['POST', '/auth/register', { email: `x${Date.now()}@example.com`, username: hostile, password: 'long enough password' }],
        ['POST', '/auth/login', { email: hostile, password: hostile }],
        ['POST', '/auth/login', { username: hostile, password: hostile }],
        ['POST', '/auth/refresh', { refreshToken: hostile }],
        ['POST', '/environments', { name: hostile, templateId }, mallory.accessToken],
        ['POST', '/environments', { name: 'ok-name', templateId: hostile }, mallory.accessToken],
        ['PATCH', `/environments/${aliceEnv.id}`, { name: hostile }, alice.accessToken],
        ['PATCH', '/users/me', { username: hostile }, mallory.accessToken],
        ['POST', '/users/me/api-keys', { name: hostile.slice(0, 10), scopes: [hostile] }, mallory.accessToken],
        ['POST', '/clusters', { name: hostile, region: hostile, kubeconfig: hostile }, alice.accessToken],
        ['POST', '/auth/password/forgot', { email: hostile }],
      ];
      for (const [method, path, body, token] of attempts) {
        expectRefusedCleanly(await request(method, `${app.api}${path}`, { body, token }), `${method} ${path} ${JSON.stringify(body).slice(0, 60)}`);
      }
      for (const query of [`q=${encodeURIComponent(hostile)}`, `category=${encodeURIComponent(hostile)}`, `status=${encodeURIComponent(hostile)}`, `limit=${encodeURIComponent(hostile)}`]) {
        expectRefusedCleanly(await request('GET', `${app.api}/templates?${query}`, { token: mallory.accessToken }), `GET /templates?${query.slice(0, 40)}`);
        expectRefusedCleanly(await request('GET', `${app.api}/environments?${query}`, { token: mallory.accessToken }), `GET /environments?${query.slice(0, 40)}`);
      }
      expectRefusedCleanly(await request('GET', `${app.api}/environments/${encodeURIComponent(hostile)}`, { token: mallory.accessToken }), 'GET /environments/<hostile>');
    }
    const after = await counts();
    // Only the hostile-looking but valid password registrations may not exist: every attempt above is refused.
    expect(after).toEqual(before);
    expect((await request('GET', `${app.api}/environments/${aliceEnv.id}`, { token: alice.accessToken })).body.name).toBe('alice-env');
  });

  it('refuses hostile credentials in headers with 401, and answers raw header tricks without a 500', async () => {
    for (const credential of ["Bearer ' OR 1=1 --", 'Bearer dpk_x\' OR \'1\'=\'1', 'Basic YWRtaW46YWRtaW4=', `Bearer ${'A'.repeat(8000)}`]) {
      const response = await request('GET', `${app.api}/users/me`, { headers: { authorization: credential } });
      expect(response.status).toBe(401);
      expect(response.body.code).toBe('UNAUTHORIZED');
    }
    expect((await request('GET', `${app.api}/users/me`, { headers: { 'x-api-key': "dpk_' OR 1=1 --" } })).status).toBe(401);
    const port = Number(new URL(app.url).port);
    const smuggled = await rawRequest(port, `GET /api/v1/users/me HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${alice.accessToken}\r\nX-Request-Id: a\rInjected: yes\r\nConnection: close\r\n\r\n`);
    expect(smuggled.status).toBeLessThan(500);
    const doubled = await rawRequest(port, `POST /api/v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 5\r\nContent-Length: 50\r\nConnection: close\r\n\r\n{"a":1}`);
    expect(doubled.status).toBe(400);
  });

  it("gives another user's environment 404 on every route, and changes nothing", async () => {
    const token = mallory.accessToken;
    const attempts: Array<[string, string, unknown?]> = [
      ['GET', `/environments/${aliceEnv.id}`],
      ['PATCH', `/environments/${aliceEnv.id}`, { name: 'stolen' }],
      ['DELETE', `/environments/${aliceEnv.id}`],
      ['POST', `/environments/${aliceEnv.id}/start`],
      ['POST', `/environments/${aliceEnv.id}/stop`],
      ['POST', `/environments/${aliceEnv.id}/restart`],
      ['GET', `/environments/${aliceEnv.id}/logs`],
    ];
    for (const [method, path, body] of attempts) {
      const response = await request(method, `${app.api}${path}`, { token, body });
      expect({ route: `${method} ${path}`, status: response.status, code: response.body.code }).toEqual({ route: `${method} ${path}`, status: 404, code: 'ENVIRONMENT_NOT_FOUND' });
    }
    const list = await request('GET', `${app.api}/environments`, { token });
    expect(list.body.items).toEqual([]);
    const still = await request('GET', `${app.api}/environments/${aliceEnv.id}`, { token: alice.accessToken });
    expect(still.body).toMatchObject({ name: 'alice-env', status: 'running' });
  });

  it("refuses admin routes to a user and another user's API key with 404", async () => {
    for (const [method, path] of [['GET', '/users'], ['GET', '/audit-events'], ['POST', '/clusters'], ['PATCH', `/users/${alice.user.id}`]] as const) {
      const response = await request(method, `${app.api}${path}`, { token: mallory.accessToken, body: method === 'GET' ? undefined : { role: 'admin' } });
      expect({ route: `${method} ${path}`, status: response.status }).toEqual({ route: `${method} ${path}`, status: response.status === 400 ? 400 : 403 });
      expect(response.status).not.toBe(200);
    }
    const key = await request('POST', `${app.api}/users/me/api-keys`, { token: alice.accessToken, body: { name: 'ci', scopes: ['environments:read'] } });
    expect(key.status).toBe(201);
    expect((await request('DELETE', `${app.api}/users/me/api-keys/${key.body.id}`, { token: mallory.accessToken })).status).toBe(404);
    expect((await request('GET', `${app.api}/environments`, { token: key.body.key })).status).toBe(200);
  });
});
