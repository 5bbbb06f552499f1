import { createHash, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { SharesService } from '../../apps/api/src/shares/shares.service.js';
import { createRunningEnvironment, registerUser, request, startTestServer, waitForStatus, type JsonResponse, type TestServer } from '../support/server.js';

const TOKEN = /^dps_[A-Za-z0-9_-]{43}$/;
const CREATED_FIELDS = ['createdAt', 'expiresAt', 'id', 'mode', 'token'];
const LISTED_FIELDS = ['active', 'createdAt', 'expiresAt', 'id', 'lastUsedAt', 'mode', 'revokedAt', 'tokenPrefix', 'useCount'];
const LOOPBACK = /^(::ffff:)?127\.0\.0\.1$/;

/** The error body of API.md, nothing more. */
function expectError(response: JsonResponse, status: number, code: string): void {
  expect({ status: response.status, code: response.body?.code }).toEqual({ status, code });
  expect(response.body.statusCode).toBe(status);
  expect(typeof response.body.message).toBe('string');
  for (const key of Object.keys(response.body)) expect(['statusCode', 'code', 'message', 'details']).toContain(key);
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

describe('Share links (/environments/:id/shares)', () => {
  let server: TestServer;
  let db: pg.Client;
  let shares: SharesService;
  let admin: Awaited<ReturnType<typeof registerUser>>;
  let alice: Awaited<ReturnType<typeof registerUser>>;
  let bob: Awaited<ReturnType<typeof registerUser>>;
  let shell: { id: string };
  let templateId: string;

  const sharesOf = (environmentId: string) => `${server.api}/environments/${environmentId}/shares`;

  /** POST /environments/:id/shares as `token` (alice by default). */
  function create(environmentId: string, body: unknown, token = alice.accessToken): Promise<JsonResponse> {
    return request('POST', sharesOf(environmentId), { token, body });
  }

  /** Creates a link of alice's shell and returns the answer's body. */
  async function created(body: Record<string, unknown> = { mode: 'read' }, environmentId = shell.id): Promise<{ id: string; token: string; mode: string; expiresAt: string; createdAt: string }> {
    const response = await create(environmentId, body);
    expect(response.status).toBe(201);
    return response.body;
  }

  /** The listed form of one of the links of an environment of alice. */
  async function listed(id: string, environmentId = shell.id): Promise<any> {
    const response = await request('GET', `${sharesOf(environmentId)}?limit=100`, { token: alice.accessToken });
    expect(response.status).toBe(200);
    return response.body.items.find((item: { id: string }) => item.id === id);
  }

  function revoke(environmentId: string, shareId: string, token = alice.accessToken): Promise<JsonResponse> {
    return request('DELETE', `${sharesOf(environmentId)}/${shareId}`, { token });
  }

  /** The audit events matching `query`, newest first (the admin's view). */
  async function events(query: string): Promise<any[]> {
    const response = await request('GET', `${server.api}/audit-events?limit=100&${query}`, { token: admin.accessToken });
    expect(response.status).toBe(200);
    return response.body.items;
  }

  /** Creates an environment of `token` without waiting for it to run (a share link does not need it running). */
  async function environmentOf(token: string, name: string): Promise<string> {
    const response = await request('POST', `${server.api}/environments`, { token, body: { name, templateId } });
    expect(response.status).toBe(201);
    return response.body.id;
  }

  async function countShares(): Promise<number> {
    return Number((await db.query('SELECT count(*) AS n FROM share_links')).rows[0].n);
  }

  beforeAll(async () => {
    server = await startTestServer();
    db = new pg.Client({ connectionString: server.databaseUrl });
    await db.connect();
    shares = server.server.app.get(SharesService);
    admin = await registerUser(server.api);
    alice = await registerUser(server.api);
    bob = await registerUser(server.api);
    expect(admin.user.role).toBe('admin');
    shell = await createRunningEnvironment(server.api, alice.accessToken, 'shared-shell');
    const templates = await request('GET', `${server.api}/templates?q=ubuntu`, { token: alice.accessToken });
    templateId = templates.body.items.find((item: { name: string }) => item.name === 'ubuntu').id;
  });

  afterAll(async () => {
    await db?.end();
    await server?.close();
  });

  describe('creating', () => {
    it('answers 201 with the token shown once, expiring expiresInSeconds from now, and stores only its SHA-256', async () => {
      const before = Date.now();
      const response = await create(shell.id, { mode: 'write', expiresInSeconds: 600 });
      expect(response.status).toBe(201);
      expect(Object.keys(response.body).sort()).toEqual(CREATED_FIELDS);
      const { id, token, mode, expiresAt, createdAt } = response.body;
      expect(token).toMatch(TOKEN);
      expect(mode).toBe('write');
      expect(Date.parse(expiresAt)).toBeGreaterThanOrEqual(before + 600_000 - 1000);
      expect(Date.parse(expiresAt)).toBeLessThanOrEqual(Date.now() + 600_000 + 1000);
      expect(Math.abs(Date.parse(createdAt) - before)).toBeLessThan(5000);

      const { rows } = await db.query('SELECT * FROM share_links WHERE id = $1', [id]);
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({
        environment_id: shell.id,
        created_by_user_id: alice.user.id,
        mode: 'write',
        token_hash: sha256(token),
        token_prefix: token.slice(0, 12),
        revoked_at: null,
        last_used_at: null,
        use_count: 0,
      });
      expect(rows[0].expires_at.toISOString()).toBe(expiresAt);
      expect(JSON.stringify(rows[0])).not.toContain(token.slice(4));
    });

    it('expires in one hour when no expiresInSeconds is given', async () => {
      const { expiresAt, createdAt } = await created({ mode: 'read' });
      expect((Date.parse(expiresAt) - Date.parse(createdAt)) / 1000).toBeCloseTo(3600, -1);
    });

    it('accepts the bounds of expiresInSeconds: 60 seconds and 30 days', async () => {
      const shortest = await created({ mode: 'read', expiresInSeconds: 60 });
      expect((Date.parse(shortest.expiresAt) - Date.parse(shortest.createdAt)) / 1000).toBeCloseTo(60, -1);
      const longest = await created({ mode: 'read', expiresInSeconds: 2_592_000 });
      expect((Date.parse(longest.expiresAt) - Date.parse(longest.createdAt)) / 1000).toBeCloseTo(2_592_000, -1);
    });

    it('mints a different token each time', async () => {
      const first = await created();
      const second = await created();
      expect(first.token).not.toBe(second.token);
      expect(first.id).not.toBe(second.id);
    });

    it('refuses a missing or unknown mode, an expiry out of 60..2592000 or not an integer, and unknown fields with 400, storing nothing', async () => {
      const before = await countShares();
      const refused: unknown[] = [
        {},
        { mode: 'admin' },
        { mode: 'READ' },
        { mode: null },
        { mode: ['read'] },
        { mode: 'read', expiresInSeconds: 10 },
        { mode: 'read', expiresInSeconds: 59 },
        { mode: 'read', expiresInSeconds: 2_592_001 },
        { mode: 'read', expiresInSeconds: 1e9 },
        { mode: 'read', expiresInSeconds: '3600' },
        { mode: 'read', expiresInSeconds: 90.5 },
        { mode: 'read', expiresInSeconds: null },
        { mode: 'read', environmentId: shell.id },
        { mode: 'read', token: 'dps_mine' },
        [{ mode: 'read' }],
      ];
      for (const body of refused) {
        const response = await create(shell.id, body);
        expect({ body, status: response.status, code: response.body.code }).toEqual({ body, status: 400, code: 'VALIDATION_FAILED' });
        expectError(response, 400, 'VALIDATION_FAILED');
      }
      const unknownField = await create(shell.id, { mode: 'read', readOnly: true });
      expect(unknownField.body.details).toContainEqual({ field: 'readOnly', message: expect.any(String) });
      const badExpiry = await create(shell.id, { mode: 'read', expiresInSeconds: 10 });
      expect(badExpiry.body.details).toContainEqual({ field: 'expiresInSeconds', message: expect.any(String) });
      expect(await countShares()).toBe(before);
    });
  });

  describe('listing', () => {
    it('lists the links newest first with their prefix and state, never the token or its hash', async () => {
      const environmentId = await environmentOf(alice.accessToken, 'listed-shares');
      const older = await created({ mode: 'read', expiresInSeconds: 120 }, environmentId);
      const newer = await created({ mode: 'write' }, environmentId);

      const response = await request('GET', sharesOf(environmentId), { token: alice.accessToken });
      expect(response.status).toBe(200);
      expect(response.body).toMatchObject({ total: 2, limit: 20, offset: 0 });
      expect(response.body.items.map((item: { id: string }) => item.id)).toEqual([newer.id, older.id]);
      for (const item of response.body.items) expect(Object.keys(item).sort()).toEqual(LISTED_FIELDS);
      expect(response.body.items[1]).toEqual({
        id: older.id,
        tokenPrefix: older.token.slice(0, 12),
        mode: 'read',
        expiresAt: older.expiresAt,
        createdAt: older.createdAt,
        revokedAt: null,
        lastUsedAt: null,
        useCount: 0,
        active: true,
      });
      const text = JSON.stringify(response.body);
      for (const share of [older, newer]) {
        expect(text).not.toContain(share.token);
        expect(text).not.toContain(sha256(share.token));
      }

      const page = await request('GET', `${sharesOf(environmentId)}?limit=1&offset=1`, { token: alice.accessToken });
      expect(page.status).toBe(200);
      expect(page.body).toMatchObject({ total: 2, limit: 1, offset: 1 });
      expect(page.body.items.map((item: { id: string }) => item.id)).toEqual([older.id]);
      expectError(await request('GET', `${sharesOf(environmentId)}?limit=0`, { token: alice.accessToken }), 400, 'VALIDATION_FAILED');
      expectError(await request('GET', `${sharesOf(environmentId)}?mode=read`, { token: alice.accessToken }), 400, 'VALIDATION_FAILED');
    });

    it('lists only the links of the environment asked for', async () => {
      const environmentId = await environmentOf(alice.accessToken, 'no-shares');
      const response = await request('GET', sharesOf(environmentId), { token: alice.accessToken });
      expect(response.status).toBe(200);
      expect(response.body).toEqual({ items: [], total: 0, limit: 20, offset: 0 });
    });
  });

  describe('revoking', () => {
    it('answers 204, then lists the link as revoked and inactive; revoking it again is 204 and changes nothing', async () => {
      const share = await created({ mode: 'write' });
      const response = await revoke(shell.id, share.id);
      expect(response.status).toBe(204);
      expect(response.body).toBeUndefined();

      const revoked = await listed(share.id);
      expect(revoked).toMatchObject({ active: false, revokedAt: expect.any(String) });
      expect(Date.now() - Date.parse(revoked.revokedAt)).toBeLessThan(10_000);

      expect((await revoke(shell.id, share.id)).status).toBe(204);
      expect((await listed(share.id)).revokedAt).toBe(revoked.revokedAt);
      const trail = (await events(`action=share.revoked&targetId=${shell.id}`)).filter((event) => event.details?.shareId === share.id);
      expect(trail).toHaveLength(1);
    });

    it('answers an unknown link, or a link of another environment, with 404 SHARE_NOT_FOUND', async () => {
      expectError(await revoke(shell.id, randomUUID()), 404, 'SHARE_NOT_FOUND');
      const otherEnvironment = await environmentOf(alice.accessToken, 'other-shares');
      const elsewhere = await created({ mode: 'read' }, otherEnvironment);
      expectError(await revoke(shell.id, elsewhere.id), 404, 'SHARE_NOT_FOUND');
      expect((await listed(elsewhere.id, otherEnvironment)).active).toBe(true);
    });
  });

  describe('who may', () => {
    it("answers another user's environment, or one that does not exist, with 404 ENVIRONMENT_NOT_FOUND on all three routes", async () => {
      const share = await created({ mode: 'write' });
      for (const [environmentId, token] of [
        [shell.id, bob.accessToken],
        [randomUUID(), alice.accessToken],
      ]) {
        expectError(await create(environmentId, { mode: 'write' }, token), 404, 'ENVIRONMENT_NOT_FOUND');
        expectError(await request('GET', sharesOf(environmentId), { token }), 404, 'ENVIRONMENT_NOT_FOUND');
        expectError(await revoke(environmentId, share.id, token), 404, 'ENVIRONMENT_NOT_FOUND');
      }
      expect(await listed(share.id)).toMatchObject({ active: true, revokedAt: null });
      const { rows } = await db.query('SELECT count(*) AS n FROM share_links WHERE created_by_user_id = $1', [bob.user.id]);
      expect(Number(rows[0].n)).toBe(0);
    });

    it('answers malformed ids with 400 INVALID_ID', async () => {
      for (const id of ['not-a-uuid', '1234', `${shell.id}0`]) {
        expectError(await create(id, { mode: 'read' }), 400, 'INVALID_ID');
        expectError(await request('GET', sharesOf(id), { token: alice.accessToken }), 400, 'INVALID_ID');
        expectError(await revoke(id, randomUUID()), 400, 'INVALID_ID');
        expectError(await revoke(shell.id, id), 400, 'INVALID_ID');
      }
    });

    it('needs a signed-in caller (401)', async () => {
      expectError(await request('POST', sharesOf(shell.id), { body: { mode: 'read' } }), 401, 'UNAUTHORIZED');
      expectError(await request('GET', sharesOf(shell.id)), 401, 'UNAUTHORIZED');
      expectError(await request('DELETE', `${sharesOf(shell.id)}/${randomUUID()}`), 401, 'UNAUTHORIZED');
    });

    it('lets an API key with environments:read list but not create or revoke (403); environments:write creates and revokes', async () => {
      const keyWith = async (scopes: string[]): Promise<string> => {
        const response = await request('POST', `${server.api}/users/me/api-keys`, { token: alice.accessToken, body: { name: `shares-${scopes.join('-')}`, scopes } });
        expect(response.status).toBe(201);
        return response.body.key;
      };
      const share = await created({ mode: 'read' });
      const reader = await keyWith(['environments:read']);
      expect((await request('GET', sharesOf(shell.id), { token: reader })).status).toBe(200);
      expectError(await create(shell.id, { mode: 'read' }, reader), 403, 'FORBIDDEN');
      expectError(await revoke(shell.id, share.id, reader), 403, 'FORBIDDEN');
      expect((await listed(share.id)).active).toBe(true);

      const writer = await keyWith(['environments:write']);
      expectError(await request('GET', sharesOf(shell.id), { token: writer }), 403, 'FORBIDDEN');
      const byKey = await create(shell.id, { mode: 'read' }, writer);
      expect(byKey.status).toBe(201);
      expect(byKey.body.token).toMatch(TOKEN);
      expect((await revoke(shell.id, share.id, writer)).status).toBe(204);
      expect((await listed(share.id)).active).toBe(false);
    });
  });

  describe('audit trail', () => {
    it('records the creation and revocation of a link with its owner, environment, id, mode and IP', async () => {
      const share = await created({ mode: 'write' });
      expect((await revoke(shell.id, share.id)).status).toBe(204);
      const trail = (await events(`targetId=${shell.id}`)).filter((event) => event.details?.shareId === share.id);
      expect(trail.map((event) => event.action)).toEqual(['share.revoked', 'share.created']);
      for (const event of trail) {
        expect(event).toMatchObject({ actorId: alice.user.id, targetType: 'environment', targetId: shell.id, details: { shareId: share.id, mode: 'write' } });
        expect(event.ip).toMatch(LOOPBACK);
      }
    });
  });

  describe('deleting the environment', () => {
    it('removes its links, and their tokens stop working', async () => {
      const environmentId = await environmentOf(alice.accessToken, 'short-lived');
      const share = await created({ mode: 'write' }, environmentId);
      await expect(shares.authenticate(share.token)).resolves.toMatchObject({ shareId: share.id });
      expect((await request('DELETE', `${server.api}/environments/${environmentId}`, { token: alice.accessToken })).status).toBe(202);
      await waitForStatus(server.api, alice.accessToken, environmentId, 'gone');

      const { rows } = await db.query('SELECT count(*) AS n FROM share_links WHERE environment_id = $1 OR id = $2', [environmentId, share.id]);
      expect(Number(rows[0].n)).toBe(0);
      await expect(shares.authenticate(share.token)).rejects.toMatchObject({ code: 'UNAUTHORIZED', status: 401 });
      expectError(await request('GET', sharesOf(environmentId), { token: alice.accessToken }), 404, 'ENVIRONMENT_NOT_FOUND');
    });
  });

  describe('OpenAPI', () => {
    it('documents the three routes with their bodies, answers, uuid ids and bearer security', async () => {
      const document = (await request('GET', `${server.url}/api/docs-json`)).body;
      const collection = document.paths['/api/v1/environments/{id}/shares'];
      const one = document.paths['/api/v1/environments/{id}/shares/{shareId}'];
      expect(Object.keys(collection).sort()).toEqual(['get', 'post']);
      expect(Object.keys(one)).toEqual(['delete']);
      const schema = (ref: string) => document.components.schemas[ref.replace('#/components/schemas/', '')];

      const body = schema(collection.post.requestBody.content['application/json'].schema.$ref);
      expect(body.required).toEqual(['mode']);
      expect(body.properties.mode.enum).toEqual(['read', 'write']);
      expect(body.properties.expiresInSeconds).toMatchObject({ minimum: 60, maximum: 2_592_000, default: 3600 });
      expect(Object.keys(schema(collection.post.responses['201'].content['application/json'].schema.$ref).properties).sort()).toEqual(CREATED_FIELDS);
      const page = schema(collection.get.responses['200'].content['application/json'].schema.$ref);
      expect(Object.keys(schema(page.properties.items.items.$ref).properties).sort()).toEqual(LISTED_FIELDS);
      expect(Object.keys(one.delete.responses)).toEqual(expect.arrayContaining(['204', '400', '401', '403', '404']));

      for (const operation of [collection.post, collection.get, one.delete]) {
        expect(operation.security).toEqual([{ bearer: [] }]);
        expect(operation.responses['404']).toBeDefined();
        for (const parameter of operation.parameters.filter((item: { in: string }) => item.in === 'path')) expect(parameter.schema.format).toBe('uuid');
      }
      expect(one.delete.parameters.map((item: { name: string }) => item.name).sort()).toEqual(['id', 'shareId']);
    });
  });

  describe(SharesService.name, () => {
    it('authenticate() grants a live token its link, environment, owner, mode and expiry', async () => {
      const share = await created({ mode: 'write', expiresInSeconds: 900 });
      const grant = await shares.authenticate(share.token);
      expect(grant).toEqual({ shareId: share.id, environmentId: shell.id, ownerId: alice.user.id, mode: 'write', expiresAt: new Date(share.expiresAt) });
    });

    it('authenticate() refuses a revoked token with UNAUTHORIZED', async () => {
      const share = await created({ mode: 'read' });
      await expect(shares.authenticate(share.token)).resolves.toMatchObject({ mode: 'read' });
      expect((await revoke(shell.id, share.id)).status).toBe(204);
      await expect(shares.authenticate(share.token)).rejects.toMatchObject({ code: 'UNAUTHORIZED', status: 401 });
    });

    it('authenticate() refuses an expired token with UNAUTHORIZED, and the list shows the link inactive', async () => {
      const share = await created({ mode: 'read', expiresInSeconds: 60 });
      await expect(shares.authenticate(share.token)).resolves.toMatchObject({ shareId: share.id });
      await db.query(`UPDATE share_links SET expires_at = now() - interval '1 second' WHERE id = $1`, [share.id]);
      await expect(shares.authenticate(share.token)).rejects.toMatchObject({ code: 'UNAUTHORIZED', status: 401 });
      expect(await listed(share.id)).toMatchObject({ active: false, revokedAt: null });
    });

    it('authenticate() refuses unknown, tampered and malformed tokens, and other credentials, with UNAUTHORIZED', async () => {
      const share = await created({ mode: 'write' });
      const tampered = `${share.token.slice(0, -1)}${share.token.endsWith('A') ? 'B' : 'A'}`;
      for (const token of [tampered, `dps_${'A'.repeat(43)}`, share.token.slice(0, 12), `${share.token}x`, '', alice.accessToken, share.token.replace('dps_', 'dpk_')]) {
        await expect(shares.authenticate(token)).rejects.toMatchObject({ code: 'UNAUTHORIZED', status: 401 });
      }
    });

    it("authenticate() refuses the links of a deactivated owner's environment, and accepts them again once reactivated", async () => {
      const carol = await registerUser(server.api);
      const environmentId = await environmentOf(carol.accessToken, 'carols');
      const response = await create(environmentId, { mode: 'read' }, carol.accessToken);
      expect(response.status).toBe(201);
      const setActive = (active: boolean) => request('PATCH', `${server.api}/users/${carol.user.id}`, { token: admin.accessToken, body: { active } });
      expect((await setActive(false)).status).toBe(200);
      await expect(shares.authenticate(response.body.token)).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
      expect((await setActive(true)).status).toBe(200);
      await expect(shares.authenticate(response.body.token)).resolves.toMatchObject({ ownerId: carol.user.id, environmentId });
    });

    it("recordUse() counts the use, sets lastUsedAt and records a 'share.used' event with the guest's transport, session, client and IP", async () => {
      const share = await created({ mode: 'write' });
      const grant = await shares.authenticate(share.token);
      const sessionId = randomUUID();
      await shares.recordUse(grant, { transport: 'socket.io', sessionId, client: 'guest-phone/1.0', ip: '203.0.113.7' });
      await shares.recordUse(grant, { transport: 'websocket', sessionId: randomUUID(), client: null, ip: null });

      const listedShare = await listed(share.id);
      expect(listedShare.useCount).toBe(2);
      expect(Date.now() - Date.parse(listedShare.lastUsedAt)).toBeLessThan(10_000);
      const used = (await events(`action=share.used&targetId=${shell.id}`)).filter((event) => event.details?.shareId === share.id);
      expect(used).toHaveLength(2);
      expect(used.find((event) => event.details.sessionId === sessionId)).toMatchObject({
        actorId: null,
        targetType: 'environment',
        targetId: shell.id,
        ip: '203.0.113.7',
        details: { shareId: share.id, mode: 'write', transport: 'socket.io', sessionId, client: 'guest-phone/1.0' },
      });
      expect(used.find((event) => event.details.sessionId !== sessionId)).toMatchObject({ ip: null, details: { transport: 'websocket', client: null } });
    });

    it('recordUse() of a link deleted meanwhile does not throw', async () => {
      const environmentId = await environmentOf(alice.accessToken, 'gone-before-use');
      const share = await created({ mode: 'read' }, environmentId);
      const grant = await shares.authenticate(share.token);
      await db.query('DELETE FROM share_links WHERE id = $1', [share.id]);
      await expect(shares.recordUse(grant, { transport: 'websocket', sessionId: randomUUID(), client: null, ip: null })).resolves.toBeUndefined();
      expect((await events(`action=share.used&targetId=${environmentId}`)).map((event) => event.details.shareId)).toEqual([share.id]);
    });

    it('revocations() emits the id of each link revoked, once', async () => {
      const emitted: string[] = [];
      const subscription = shares.revocations().subscribe((id) => emitted.push(id));
      try {
        const first = await created({ mode: 'write' });
        const second = await created({ mode: 'read' });
        expect((await revoke(shell.id, first.id)).status).toBe(204);
        expect((await revoke(shell.id, first.id)).status).toBe(204);
        expect(emitted).toEqual([first.id]);
        expect((await revoke(shell.id, second.id)).status).toBe(204);
        expect(emitted).toEqual([first.id, second.id]);
      } finally {
        subscription.unsubscribe();
      }
    });
  });
});
