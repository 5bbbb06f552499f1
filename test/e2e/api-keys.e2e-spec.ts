import { createHash, randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { createRunningEnvironment, registerUser, request, startTestServer, type JsonResponse, type TestServer, expectError } from '../support/server.js';
import { SocketTerminal, WsTerminal, closeAll } from '../support/terminal-clients.js';

const KEY = /^dpk_[a-z0-9]{8}_[A-Za-z0-9_-]{43}$/;
const LISTED_FIELDS = ['createdAt', 'expiresAt', 'id', 'lastUsedAt', 'name', 'prefix', 'scopes', 'usage'];

/** The error body of API.md, nothing more. */
describe('API keys (/users/me/api-keys)', () => {
  let server: TestServer;
  let db: pg.Client;
  let admin: Awaited<ReturnType<typeof registerUser>>;
  let alice: Awaited<ReturnType<typeof registerUser>>;
  let bob: Awaited<ReturnType<typeof registerUser>>;
  let shell: { id: string; name: string };
  const opened: Array<SocketTerminal | WsTerminal> = [];

  /** Creates a key as `token` and returns the answer of POST. */
  function create(token: string, body: Record<string, unknown>): Promise<JsonResponse> {
    return request('POST', `${server.api}/users/me/api-keys`, { token, body });
  }

  /** Creates a key with `scopes` for alice and returns its secret and id. */
  async function keyFor(scopes: string[], token = alice.accessToken): Promise<{ id: string; key: string }> {
    const response = await create(token, { name: `key-${scopes.join('-')}`, scopes });
    expect(response.status).toBe(201);
    return { id: response.body.id, key: response.body.key };
  }

  /** The listed form of one of alice's keys. */
  async function listed(id: string, token = alice.accessToken): Promise<any> {
    const response = await request('GET', `${server.api}/users/me/api-keys?limit=100`, { token });
    expect(response.status).toBe(200);
    return response.body.items.find((item: { id: string }) => item.id === id);
  }

  beforeAll(async () => {
    server = await startTestServer();
    db = new pg.Client({ connectionString: server.databaseUrl });
    await db.connect();
    admin = await registerUser(server.api);
    alice = await registerUser(server.api);
    bob = await registerUser(server.api);
    expect(admin.user.role).toBe('admin');
    shell = await createRunningEnvironment(server.api, alice.accessToken, 'key-shell');
  });

  afterEach(() => {
    closeAll(opened.splice(0));
  });

  afterAll(async () => {
    closeAll(opened.splice(0));
    await db?.end();
    await server?.close();
  });

  describe('creating and listing', () => {
    it('shows the secret once at creation, never in the list, and stores only its SHA-256', async () => {
      const response = await create(alice.accessToken, { name: 'laptop CLI', scopes: ['environments:read', 'terminal'], expiresInDays: 30 });
      expect(response.status).toBe(201);
      expect(Object.keys(response.body).sort()).toEqual(['createdAt', 'expiresAt', 'id', 'key', 'name', 'prefix', 'scopes']);
      const { id, key, prefix } = response.body;
      expect(key).toMatch(KEY);
      expect(prefix).toBe(key.slice(0, 12));
      expect(response.body).toMatchObject({ name: 'laptop CLI', scopes: ['environments:read', 'terminal'] });
      const days = (Date.parse(response.body.expiresAt) - Date.parse(response.body.createdAt)) / 86_400_000;
      expect(days).toBeCloseTo(30, 2);

      const list = await request('GET', `${server.api}/users/me/api-keys`, { token: alice.accessToken });
      expect(list.status).toBe(200);
      expect(list.body).toMatchObject({ total: expect.any(Number), limit: 20, offset: 0 });
      const item = list.body.items.find((entry: { id: string }) => entry.id === id);
      expect(Object.keys(item).sort()).toEqual(LISTED_FIELDS);
      expect(item).toMatchObject({ prefix, lastUsedAt: null, usage: { today: 0, last30Days: 0 } });
      expect(JSON.stringify(list.body)).not.toContain(key);

      const { rows } = await db.query('SELECT * FROM api_keys WHERE id = $1', [id]);
      expect(rows[0].secret_hash).toBe(createHash('sha256').update(key).digest('hex'));
      expect(rows[0].prefix).toBe(prefix);
      expect(JSON.stringify(rows[0])).not.toContain(key);
    });

    it("lists only the caller's keys", async () => {
      const { id } = await keyFor(['environments:read']);
      expect(await listed(id, bob.accessToken)).toBeUndefined();
    });

    it('refuses unknown scopes, no scope, a past expiry, or two expiries with 400', async () => {
      expectError(await create(alice.accessToken, { name: 'x', scopes: ['root'] }), 400, 'VALIDATION_FAILED');
      expectError(await create(alice.accessToken, { name: 'x', scopes: [] }), 400, 'VALIDATION_FAILED');
      expectError(await create(alice.accessToken, { scopes: ['terminal'] }), 400, 'VALIDATION_FAILED');
      expectError(await create(alice.accessToken, { name: 'x', scopes: ['terminal'], expiresAt: '2001-01-01T00:00:00Z' }), 400, 'VALIDATION_FAILED');
      const future = new Date(Date.now() + 86_400_000).toISOString();
      expectError(await create(alice.accessToken, { name: 'x', scopes: ['terminal'], expiresAt: future, expiresInDays: 2 }), 400, 'VALIDATION_FAILED');
    });

    it('grants the admin scope to admins only (403 for anyone else)', async () => {
      expectError(await create(alice.accessToken, { name: 'x', scopes: ['admin'] }), 403, 'FORBIDDEN');
      expect((await create(admin.accessToken, { name: 'ops', scopes: ['admin'] })).status).toBe(201);
    });
  });

  describe('authenticating with a key', () => {
    it('works as a Bearer token and as X-API-Key, and meters each use', async () => {
      const { id, key } = await keyFor(['environments:read']);
      const asBearer = await request('GET', `${server.api}/environments`, { token: key });
      expect(asBearer.status).toBe(200);
      expect(asBearer.body.items.map((item: { id: string }) => item.id)).toEqual([shell.id]);
      expect((await request('GET', `${server.api}/environments/${shell.id}`, { headers: { 'x-api-key': key } })).status).toBe(200);
      const first = await listed(id);
      expect(first.usage).toEqual({ today: 2, last30Days: 2 });
      expect(Date.now() - Date.parse(first.lastUsedAt)).toBeLessThan(60_000);

      expect((await request('GET', `${server.api}/templates`, { token: key })).status).toBe(200);
      const second = await listed(id);
      expect(second.usage).toEqual({ today: 3, last30Days: 3 });
      expect(Date.parse(second.lastUsedAt)).toBeGreaterThanOrEqual(Date.parse(first.lastUsedAt));
      const { rows } = await db.query('SELECT requests FROM api_key_usage WHERE api_key_id = $1', [id]);
      expect(rows).toEqual([{ requests: 3 }]);
    });

    it('refuses a key that does not exist, or one whose secret is wrong, with 401', async () => {
      const { key } = await keyFor(['environments:read']);
      const tampered = `${key.slice(0, -1)}${key.endsWith('A') ? 'B' : 'A'}`;
      for (const credential of [tampered, 'dpk_aaaaaaaa_short', `dpk_zzzzzzzz_${key.slice(13)}`]) {
        expectError(await request('GET', `${server.api}/environments`, { token: credential }), 401, 'UNAUTHORIZED');
        expectError(await request('GET', `${server.api}/environments`, { headers: { 'x-api-key': credential } }), 401, 'UNAUTHORIZED');
      }
      expectError(await request('GET', `${server.api}/environments`, { headers: { 'x-api-key': alice.accessToken } }), 401, 'UNAUTHORIZED');
    });

    it('refuses a revoked key with 401; the key leaves the list', async () => {
      const { id, key } = await keyFor(['environments:read']);
      expect((await request('GET', `${server.api}/environments`, { token: key })).status).toBe(200);
      const revoked = await request('DELETE', `${server.api}/users/me/api-keys/${id}`, { token: alice.accessToken });
      expect(revoked.status).toBe(204);
      expectError(await request('GET', `${server.api}/environments`, { token: key }), 401, 'UNAUTHORIZED');
      expect(await listed(id)).toBeUndefined();
      expectError(await request('DELETE', `${server.api}/users/me/api-keys/${id}`, { token: alice.accessToken }), 404, 'API_KEY_NOT_FOUND');
      await expect(SocketTerminal.connect(server.url, { token: key })).rejects.toThrow('UNAUTHORIZED');
    });

    it('refuses an expired key with 401', async () => {
      const { id, key } = await keyFor(['environments:read']);
      await db.query(`UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = $1`, [id]);
      expectError(await request('GET', `${server.api}/environments`, { token: key }), 401, 'UNAUTHORIZED');
    });

    it("answers 404 for another user's key id, which keeps working", async () => {
      const { id, key } = await keyFor(['environments:read']);
      expectError(await request('DELETE', `${server.api}/users/me/api-keys/${id}`, { token: bob.accessToken }), 404, 'API_KEY_NOT_FOUND');
      expectError(await request('DELETE', `${server.api}/users/me/api-keys/${randomUUID()}`, { token: alice.accessToken }), 404, 'API_KEY_NOT_FOUND');
      expectError(await request('DELETE', `${server.api}/users/me/api-keys/not-a-uuid`, { token: alice.accessToken }), 400, 'INVALID_ID');
      expect((await request('GET', `${server.api}/environments`, { token: key })).status).toBe(200);
    });
  });

  describe('scopes', () => {
    it('lets environments:read read but answers 403 on writes; environments:write may write', async () => {
      const { key: reader } = await keyFor(['environments:read']);
      const templates = await request('GET', `${server.api}/templates`, { token: reader });
      expect(templates.status).toBe(200);
      const templateId = templates.body.items[0].id;
      expectError(await request('POST', `${server.api}/environments`, { token: reader, body: { name: 'by-key', templateId } }), 403, 'FORBIDDEN');
      expectError(await request('PATCH', `${server.api}/environments/${shell.id}`, { token: reader, body: { name: shell.name } }), 403, 'FORBIDDEN');
      expectError(await request('POST', `${server.api}/environments/${shell.id}/stop`, { token: reader }), 403, 'FORBIDDEN');

      const { key: writer } = await keyFor(['environments:write']);
      expectError(await request('GET', `${server.api}/environments`, { token: writer }), 403, 'FORBIDDEN');
      const renamed = await request('PATCH', `${server.api}/environments/${shell.id}`, { token: writer, body: { name: shell.name } });
      expect(renamed.status).toBe(200);
      expect(renamed.body.name).toBe(shell.name);
    });

    it('cannot manage keys, nor use routes that name no scope (403)', async () => {
      const { id, key } = await keyFor(['environments:read', 'environments:write', 'terminal']);
      expectError(await create(key, { name: 'minted', scopes: ['terminal'] }), 403, 'FORBIDDEN');
      expectError(await request('GET', `${server.api}/users/me/api-keys`, { token: key }), 403, 'FORBIDDEN');
      expectError(await request('DELETE', `${server.api}/users/me/api-keys/${id}`, { token: key }), 403, 'FORBIDDEN');
      expectError(await request('GET', `${server.api}/users/me`, { token: key }), 403, 'FORBIDDEN');
      const { rows } = await db.query(`SELECT count(*)::int AS n FROM api_keys WHERE name = 'minted'`);
      expect(rows[0].n).toBe(0);
    });

    it("needs the admin scope on admin routes, on top of the user's role", async () => {
      const { key: adminKey } = await keyFor(['admin'], admin.accessToken);
      const { key: readerKey } = await keyFor(['environments:read'], admin.accessToken);
      // Past the guards, an empty body fails validation: the key was let in.
      expectError(await request('POST', `${server.api}/clusters`, { token: adminKey, body: {} }), 400, 'VALIDATION_FAILED');
      expectError(await request('POST', `${server.api}/clusters`, { token: readerKey, body: {} }), 403, 'FORBIDDEN');
      await db.query(`UPDATE users SET role = 'user' WHERE id = $1`, [admin.user.id]);
      try {
        expectError(await request('POST', `${server.api}/clusters`, { token: adminKey, body: {} }), 403, 'FORBIDDEN');
      } finally {
        await db.query(`UPDATE users SET role = 'admin' WHERE id = $1`, [admin.user.id]);
      }
    });
  });

  describe('the terminal', () => {
    it('refuses a Socket.IO attach with FORBIDDEN without the terminal scope', async () => {
      const { key } = await keyFor(['environments:read', 'environments:write']);
      const terminal = await SocketTerminal.connect(server.url, { token: key });
      opened.push(terminal);
      const ack = await terminal.attach({ environmentId: shell.id, cols: 80, rows: 24 });
      expect(ack).toEqual({ error: { code: 'FORBIDDEN', message: expect.any(String) } });
    });

    it('attaches over Socket.IO with the terminal scope and runs a command', async () => {
      const { key } = await keyFor(['terminal']);
      const { terminal, ack } = await SocketTerminal.open(server.url, key, { environmentId: shell.id, cols: 80, rows: 24 });
      opened.push(terminal);
      expect(ack).toMatchObject({ resume: 'new', seq: 0 });
      terminal.type('echo SOCKET_KEY_$((6*7))\r');
      await terminal.waitFor(/SOCKET_KEY_42/);
    });

    it('refuses the WebSocket upgrade with 403 without the terminal scope', async () => {
      const { key } = await keyFor(['environments:read']);
      const refusal = await WsTerminal.refusal(WsTerminal.address(server.url, shell.id, key));
      expect(refusal).toEqual({ statusCode: 403, body: { statusCode: 403, code: 'FORBIDDEN', message: expect.any(String) } });
    });

    it('lets the logs WebSocket in with environments:read only (403 for a terminal-only key)', async () => {
      const { key: terminalOnly } = await keyFor(['terminal']);
      const refusal = await WsTerminal.refusal(WsTerminal.address(server.url, shell.id, terminalOnly, {}, 'logs'));
      expect(refusal).toMatchObject({ statusCode: 403, body: { code: 'FORBIDDEN' } });
      const { key: reader } = await keyFor(['environments:read']);
      const logs = await WsTerminal.connect(WsTerminal.address(server.url, shell.id, reader, {}, 'logs'));
      opened.push(logs);
      expect(logs.closed).toBeUndefined();
    });

    it('opens the WebSocket terminal with the terminal scope and runs a command', async () => {
      const { key } = await keyFor(['terminal']);
      const terminal = await WsTerminal.connect(WsTerminal.address(server.url, shell.id, key));
      opened.push(terminal);
      await terminal.waitForFrame('welcome');
      terminal.type('echo WS_KEY_$((6*7))\r');
      await terminal.waitFor(/WS_KEY_42/);
    });
  });
});
