import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { startServer, type RunningServer } from '../../apps/api/src/bootstrap.js';
import { registerUser, request, startTestServer, testConfig, type TestServer } from '../support/server.js';

/** Every field of API.md's `Template`, and nothing else. */
const TEMPLATE_FIELDS = [
  'category',
  'defaultPort',
  'description',
  'displayName',
  'environmentVariables',
  'id',
  'image',
  'name',
  'resources',
  'startupCommands',
  'status',
  'tags',
  'version',
];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const QUANTITY = /^\d+(\.\d+)?(m|Ki|Mi|Gi|Ti|k|M|G|T)?$/;

describe('Templates', () => {
  let app: TestServer;
  let token: string;
  let user: Awaited<ReturnType<typeof registerUser>>;
  let restarted: RunningServer | undefined;

  beforeAll(async () => {
    app = await startTestServer();
    user = await registerUser(app.api);
    token = user.accessToken;
  });

  afterAll(async () => {
    await restarted?.stop();
    await app?.close();
  });

  it('lists the four templates of templates/*.yaml with every field of Template', async () => {
    const response = await request('GET', `${app.api}/templates`, { token });
    expect(response.status).toBe(200);
    expect(Object.keys(response.body).sort()).toEqual(['items', 'limit', 'offset', 'total']);
    expect(response.body).toMatchObject({ total: 4, limit: 20, offset: 0 });
    const names = response.body.items.map((template: { name: string }) => template.name).sort();
    expect(names).toEqual(['golang', 'nodejs', 'python', 'ubuntu']);
    for (const template of response.body.items) {
      expect(Object.keys(template).sort()).toEqual(TEMPLATE_FIELDS);
      expect(template.id).toMatch(UUID);
      expect(typeof template.displayName).toBe('string');
      expect(template.displayName.length).toBeGreaterThan(0);
      expect(typeof template.description).toBe('string');
      expect(typeof template.category).toBe('string');
      expect(Array.isArray(template.tags)).toBe(true);
      expect(typeof template.image).toBe('string');
      expect(Number.isInteger(template.defaultPort)).toBe(true);
      expect(Object.keys(template.resources).sort()).toEqual(['cpu', 'memory', 'storage']);
      for (const quantity of Object.values(template.resources)) expect(quantity).toMatch(QUANTITY);
      expect(typeof template.environmentVariables).toBe('object');
      expect(Array.isArray(template.environmentVariables)).toBe(false);
      expect(Array.isArray(template.startupCommands)).toBe(true);
      expect(typeof template.version).toBe('string');
      expect(['active', 'deprecated']).toContain(template.status);
    }
  });

  it('serves the values written in the YAML file', async () => {
    const response = await request('GET', `${app.api}/templates?q=nodejs`, { token });
    const nodejs = response.body.items.find((template: { name: string }) => template.name === 'nodejs');
    expect(nodejs).toMatchObject({
      name: 'nodejs',
      displayName: 'Node.js 22',
      category: 'language',
      image: 'node:22-bookworm',
      defaultPort: 3000,
      resources: { cpu: '500m', memory: '1Gi', storage: '5Gi' },
      environmentVariables: { NODE_ENV: 'development' },
      version: '1.0.0',
      status: 'active',
    });
    expect(nodejs.tags).toEqual(expect.arrayContaining(['javascript', 'typescript']));
    expect(nodejs.startupCommands).toContain('npm config set prefix "$HOME/.npm-global"');
  });

  it('filters by category', async () => {
    const all = await request('GET', `${app.api}/templates`, { token });
    const category: string = all.body.items[0].category;
    const expected = all.body.items.filter((template: { category: string }) => template.category === category).map((template: { id: string }) => template.id);
    const filtered = await request('GET', `${app.api}/templates?category=${encodeURIComponent(category)}`, { token });
    expect(filtered.status).toBe(200);
    expect(filtered.body.total).toBe(expected.length);
    expect(filtered.body.items.map((template: { id: string }) => template.id).sort()).toEqual(expected.sort());

    const none = await request('GET', `${app.api}/templates?category=no-such-category`, { token });
    expect(none.status).toBe(200);
    expect(none.body).toEqual({ items: [], total: 0, limit: 20, offset: 0 });
  });

  it('finds templates by words of their name, display name or tags', async () => {
    const byName = await request('GET', `${app.api}/templates?q=golang`, { token });
    expect(byName.status).toBe(200);
    expect(byName.body.items.map((template: { name: string }) => template.name)).toEqual(['golang']);

    const byTag = await request('GET', `${app.api}/templates?q=typescript`, { token });
    expect(byTag.body.items.map((template: { name: string }) => template.name)).toContain('nodejs');

    const caseInsensitive = await request('GET', `${app.api}/templates?q=PYTHON`, { token });
    expect(caseInsensitive.body.items.map((template: { name: string }) => template.name)).toContain('python');

    const nothing = await request('GET', `${app.api}/templates?q=${encodeURIComponent('%_no-such-thing')}`, { token });
    expect(nothing.status).toBe(200);
    expect(nothing.body.total).toBe(0);
  });

  it('pages the list with limit and offset', async () => {
    const first = await request('GET', `${app.api}/templates?limit=2&offset=0`, { token });
    const second = await request('GET', `${app.api}/templates?limit=2&offset=2`, { token });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ total: 4, limit: 2, offset: 0 });
    expect(second.body).toMatchObject({ total: 4, limit: 2, offset: 2 });
    expect(first.body.items).toHaveLength(2);
    expect(second.body.items).toHaveLength(2);
    const ids = [...first.body.items, ...second.body.items].map((template: { id: string }) => template.id);
    expect(new Set(ids).size).toBe(4);
  });

  it('refuses a limit outside 1-100 with 400', async () => {
    for (const query of ['limit=0', 'limit=101', 'limit=abc', 'offset=-1']) {
      const response = await request('GET', `${app.api}/templates?${query}`, { token });
      expect(response.status).toBe(400);
      expect(response.body.code).toBe('VALIDATION_FAILED');
    }
  });

  it('gets one template by id, the same as in the list', async () => {
    const list = await request('GET', `${app.api}/templates`, { token });
    for (const template of list.body.items) {
      const response = await request('GET', `${app.api}/templates/${template.id}`, { token });
      expect(response.status).toBe(200);
      expect(response.body).toEqual(template);
    }
  });

  it('answers 404 TEMPLATE_NOT_FOUND for an unknown id', async () => {
    const response = await request('GET', `${app.api}/templates/00000000-0000-4000-8000-000000000000`, { token });
    expect(response.status).toBe(404);
    expect(response.body).toMatchObject({ statusCode: 404, code: 'TEMPLATE_NOT_FOUND' });
  });

  it('answers 400 INVALID_ID for an id that is not a UUID', async () => {
    for (const id of ['nodejs', '123', '00000000-0000-4000-8000-00000000000z']) {
      const response = await request('GET', `${app.api}/templates/${id}`, { token });
      expect(response.status).toBe(400);
      expect(response.body).toMatchObject({ statusCode: 400, code: 'INVALID_ID' });
    }
  });

  it('lets a user who is not an admin read templates', async () => {
    const plain = await registerUser(app.api);
    expect(plain.user.role).toBe('user');
    const list = await request('GET', `${app.api}/templates`, { token: plain.accessToken });
    expect(list.status).toBe(200);
    expect(list.body.total).toBe(4);
    const one = await request('GET', `${app.api}/templates/${list.body.items[0].id}`, { token: plain.accessToken });
    expect(one.status).toBe(200);
  });

  it('refuses callers without a valid access token', async () => {
    const list = await request('GET', `${app.api}/templates`);
    expect(list.status).toBe(401);
    expect(list.body).toMatchObject({ statusCode: 401, code: 'UNAUTHORIZED' });
    const one = await request('GET', `${app.api}/templates/00000000-0000-4000-8000-000000000000`, { token: 'not-a-jwt' });
    expect(one.status).toBe(401);
    expect(one.body.code).toBe('UNAUTHORIZED');
  });

  it('upserts templates/*.yaml at every start: the YAML wins over edited rows, and no duplicate rows appear', async () => {
    const db = new pg.Client({ connectionString: app.databaseUrl });
    await db.connect();
    try {
      await db.query(`UPDATE templates SET display_name = 'Edited by hand', default_port = 1 WHERE name = 'nodejs'`);
      const before = await db.query<{ id: string; name: string }>('SELECT id, name FROM templates ORDER BY name');

      // Restart on the same database and data directory, as an operator's restart would. (Only
      // one server at a time: passport keeps its strategies process-wide.)
      await app.server.stop();
      restarted = await startServer(
        testConfig(app.databaseUrl, app.dataDir),
      );

      const after = await db.query<{ id: string; name: string }>('SELECT id, name FROM templates ORDER BY name');
      expect(after.rows).toEqual(before.rows);
      const login = await request('POST', `${restarted.url}/api/v1/auth/login`, { body: { email: user.user.email, password: user.password } });
      expect(login.status).toBe(200);
      const nodejs = await request('GET', `${restarted.url}/api/v1/templates/${before.rows.find((row) => row.name === 'nodejs')!.id}`, {
        token: login.body.accessToken,
      });
      expect(nodejs.status).toBe(200);
      expect(nodejs.body).toMatchObject({ displayName: 'Node.js 22', defaultPort: 3000 });
    } finally {
      await db.end();
    }
  });
});
