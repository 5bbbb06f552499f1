import { setTimeout as sleep } from 'node:timers/promises';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { registerUser, request, startTestServer, type JsonResponse, type TestServer } from '../support/server.js';

const VERSION: string = JSON.parse(readFileSync('package.json', 'utf8')).version;
const MISSING_ID = '00000000-0000-4000-8000-000000000000';
const HTTP_METHODS = ['get', 'post', 'put', 'patch', 'delete'];

/** The error body of API.md: exactly `{statusCode, code, message, details?}`, a stable UPPER_SNAKE code, no stack trace. */
function expectErrorShape(response: JsonResponse, label = ''): void {
  const where = `${label} -> ${response.status} ${JSON.stringify(response.body)}`.slice(0, 500);
  expect({ where, isObject: typeof response.body === 'object' && response.body !== null }).toEqual({ where, isObject: true });
  const keys = Object.keys(response.body);
  expect({ where, extra: keys.filter((key) => !['statusCode', 'code', 'message', 'details'].includes(key)) }).toEqual({ where, extra: [] });
  expect({ where, statusCode: response.body.statusCode }).toEqual({ where, statusCode: response.status });
  expect(response.body.code).toMatch(/^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/);
  expect(typeof response.body.message).toBe('string');
  expect(response.body.message.length).toBeGreaterThan(0);
  if ('details' in response.body) {
    expect(Array.isArray(response.body.details)).toBe(true);
    for (const detail of response.body.details) {
      expect(typeof detail.message).toBe('string');
      for (const key of Object.keys(detail)) expect(['field', 'message']).toContain(key);
    }
  }
  const text = JSON.stringify(response.body);
  expect(text).not.toMatch(/\n\s+at |\\n\s+at |node_modules|\.ts:\d+|\.js:\d+|QueryFailedError|TypeError|RangeError/);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
}

/** The OAuth endpoints of RFC 8628 answer errors as RFC 6749 §5.2 fixes them (API.md: "except where an RFC fixes them"). */
const OAUTH_ROUTES = ['post /api/v1/auth/device/code', 'post /api/v1/auth/device/token'];

/** Browser navigations whose only success is a redirect (API.md: GET /auth/google starts the web sign-in). */
const REDIRECT_ROUTES = ['get /api/v1/auth/google'];

/** An RFC 6749 §5.2 error body: `{error, error_description?}`, a lower_snake code. */
function expectOAuthErrorShape(response: JsonResponse, label = ''): void {
  const where = `${label} -> ${response.status} ${JSON.stringify(response.body)}`.slice(0, 500);
  expect({ where, keys: Object.keys(response.body ?? {}).filter((key) => !['error', 'error_description'].includes(key)) }).toEqual({ where, keys: [] });
  expect({ where, error: /^[a-z_]+$/.test(response.body?.error) }).toEqual({ where, error: true });
}

function expectError(response: JsonResponse, status: number, code: string): void {
  expect(response.status).toBe(status);
  expect(response.body.code).toBe(code);
  expectErrorShape(response);
}

interface Operation {
  method: string;
  path: string;
  operation: {
    security?: Array<Record<string, string[]>>;
    parameters?: Array<{ name: string; in: string; schema?: { format?: string } }>;
    requestBody?: { content?: Record<string, { schema?: { $ref?: string } }> };
    responses?: Record<string, { content?: Record<string, { schema?: Record<string, unknown> }> }>;
  };
}

describe('HTTP contract', () => {
  let app: TestServer;
  let db: pg.Client;
  let token: string;
  let document: any;
  let operations: Operation[];

  beforeAll(async () => {
    app = await startTestServer();
    db = new pg.Client({ connectionString: app.databaseUrl });
    await db.connect();
    token = (await registerUser(app.api)).accessToken;
    document = (await request('GET', `${app.url}/api/docs-json`)).body;
    operations = Object.entries(document.paths as Record<string, Record<string, Operation['operation']>>).flatMap(([path, item]) =>
      Object.entries(item)
        .filter(([method]) => HTTP_METHODS.includes(method))
        .map(([method, operation]) => ({ method, path, operation })),
    );
  });

  afterAll(async () => {
    await db?.end();
    await app?.close();
  });

  async function count(table: 'users' | 'environments' | 'refresh_tokens'): Promise<number> {
    return Number((await db.query(`SELECT count(*) AS n FROM ${table}`)).rows[0].n);
  }

  function schemaOf(ref: string): any {
    return document.components.schemas[ref.replace('#/components/schemas/', '')];
  }

  describe('health', () => {
    it('answers liveness with {status: ok, version}, without a token', async () => {
      const response = await request('GET', `${app.api}/health`);
      expect(response.status).toBe(200);
      expect(response.body).toEqual({ status: 'ok', version: VERSION });
    });

    it('answers readiness with every dependency up', async () => {
      const response = await request('GET', `${app.api}/health/ready`);
      expect(response.status).toBe(200);
      expect(response.body).toEqual({ status: 'ok', database: 'up', cache: 'up', runtime: 'up', version: VERSION });
    });

    it('answers readiness 503 naming the database when it refuses connections, and 200 again once it is back', async () => {
      const admin = new pg.Client({ connectionString: process.env.DEVPOCKET_TEST_ADMIN_URL });
      await admin.connect();
      const name = new URL(app.databaseUrl).pathname.slice(1);
      const ownPid = (await db.query('SELECT pg_backend_pid() AS pid')).rows[0].pid;
      let response: JsonResponse;
      try {
        await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS false`);
        await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> $2', [name, ownPid]);
        response = await request('GET', `${app.api}/health/ready`);
        // Liveness checks no dependency.
        expect(await request('GET', `${app.api}/health`)).toMatchObject({ status: 200, body: { status: 'ok' } });
      } finally {
        await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`);
        await admin.end();
      }
      expect(response.status).toBe(503);
      expect(response.body).toEqual({ status: 'error', database: 'down', cache: 'up', runtime: 'up', version: VERSION });
      const deadline = Date.now() + 10_000;
      let again = await request('GET', `${app.api}/health/ready`);
      while (again.status !== 200 && Date.now() < deadline) {
        await sleep(100);
        again = await request('GET', `${app.api}/health/ready`);
      }
      expect(again.body).toEqual({ status: 'ok', database: 'up', cache: 'up', runtime: 'up', version: VERSION });
    });
  });

  describe('OpenAPI', () => {
    it('serves the Swagger UI at /api/docs', async () => {
      const response = await fetch(`${app.url}/api/docs`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/html/);
      expect(await response.text()).toMatch(/swagger-ui/i);
    });

    it('serves an OpenAPI 3 document at /api/docs-json with the server version', async () => {
      const response = await request('GET', `${app.url}/api/docs-json`);
      expect(response.status).toBe(200);
      expect(response.body.openapi).toMatch(/^3\./);
      expect(response.body.info.version).toBe(VERSION);
      expect(response.body.components.securitySchemes).toEqual({ bearer: expect.objectContaining({ type: 'http', scheme: 'bearer' }) });
    });

    it('documents every route of the application, under its full /api/v1 path', async () => {
      const router = (app.server.app.getHttpAdapter().getInstance() as any).router;
      const served = new Set<string>();
      for (const layer of router.stack as Array<{ route?: { path: string; methods: Record<string, boolean> } }>) {
        if (!layer.route || !layer.route.path.startsWith('/api/v1/')) continue;
        const methods = Object.keys(layer.route.methods).filter((method) => HTTP_METHODS.includes(method));
        for (const method of methods) served.add(`${method} ${layer.route.path.replace(/:(\w+)/g, '{$1}')}`);
      }
      const documented = new Set(operations.map(({ method, path }) => `${method} ${path}`));
      expect([...documented].sort()).toEqual([...served].sort());
      for (const path of Object.keys(document.paths)) expect(path).toMatch(/^\/api\/v1\//);
      // The routes of this issue, by name.
      for (const route of [
        'post /api/v1/auth/register',
        'post /api/v1/auth/login',
        'post /api/v1/auth/refresh',
        'post /api/v1/auth/logout',
        'post /api/v1/auth/logout-all',
        'get /api/v1/users/me',
        'patch /api/v1/users/me',
        'delete /api/v1/users/me',
        'get /api/v1/templates',
        'get /api/v1/templates/{id}',
        'post /api/v1/environments',
        'get /api/v1/environments',
        'get /api/v1/environments/{id}',
        'patch /api/v1/environments/{id}',
        'delete /api/v1/environments/{id}',
        'post /api/v1/environments/{id}/start',
        'post /api/v1/environments/{id}/stop',
        'post /api/v1/environments/{id}/restart',
        'get /api/v1/environments/{id}/logs',
        'get /api/v1/health',
        'get /api/v1/health/ready',
      ]) {
        expect(documented).toContain(route);
      }
    });

    it('gives every operation a success response with a schema (but 204) and every request body a schema', async () => {
      for (const { method, path, operation } of operations) {
        const label = `${method} ${path}`;
        const responses = Object.entries(operation.responses ?? {});
        const successes = responses.filter(([status]) => /^2\d\d$/.test(status) || (REDIRECT_ROUTES.includes(label) && status === '302'));
        expect({ label, successes: successes.length > 0 }).toEqual({ label, successes: true });
        for (const [status, response] of successes) {
          if (status === '204' || status === '302') continue;
          const schema = response.content?.['application/json']?.schema;
          expect({ label, status, schema: Boolean(schema) }).toEqual({ label, status, schema: true });
          const ref = (schema as { $ref?: string }).$ref;
          if (ref) expect({ label, ref, resolved: Boolean(schemaOf(ref)?.properties) }).toEqual({ label, ref, resolved: true });
        }
        for (const [status, response] of responses.filter(([code]) => Number(code) >= 400)) {
          const ref = (response.content?.['application/json']?.schema as { $ref?: string } | undefined)?.$ref;
          // Readiness answers 503 with its own report naming what is down (API.md "Health").
          const expected =
            label === 'get /api/v1/health/ready' && status === '503'
              ? '#/components/schemas/ReadinessDto'
              : OAUTH_ROUTES.includes(label) && status === '400'
                ? '#/components/schemas/OAuthErrorDto'
                : '#/components/schemas/ErrorDto';
          expect({ label, status, ref }).toEqual({ label, status, ref: expected });
        }
        if (['post', 'patch', 'put'].includes(method) && operation.requestBody) {
          const ref = operation.requestBody.content?.['application/json']?.schema?.$ref;
          expect({ label, requestBody: typeof ref }).toEqual({ label, requestBody: 'string' });
          expect(Object.keys(schemaOf(ref!).properties ?? {}).length).toBeGreaterThan(0);
        }
        if (path.includes('{id}')) {
          const id = operation.parameters?.find((parameter) => parameter.name === 'id' && parameter.in === 'path');
          expect({ label, format: id?.schema?.format }).toEqual({ label, format: 'uuid' });
        }
      }
      expect(Object.keys(schemaOf('#/components/schemas/ErrorDto').properties).sort()).toEqual(['code', 'details', 'message', 'statusCode']);
    });

    it('documents the request bodies of the routes that take one', async () => {
      const bodies = Object.fromEntries(
        operations.filter(({ operation }) => operation.requestBody).map(({ method, path, operation }) => [`${method} ${path}`, operation.requestBody!.content!['application/json'].schema!.$ref]),
      );
      expect(bodies).toMatchObject({
        'post /api/v1/auth/register': expect.stringContaining('Register'),
        'post /api/v1/auth/login': expect.stringContaining('Login'),
        'post /api/v1/auth/refresh': expect.any(String),
        'post /api/v1/auth/logout': expect.any(String),
        'patch /api/v1/users/me': expect.any(String),
        'post /api/v1/environments': expect.stringContaining('CreateEnvironment'),
        'patch /api/v1/environments/{id}': expect.any(String),
      });
      expect(Object.keys(schemaOf(bodies['post /api/v1/environments']!).properties)).toEqual(expect.arrayContaining(['name', 'templateId']));
    });

    it('marks exactly the routes that need an access token with bearer security', async () => {
      for (const { method, path, operation } of operations) {
        const label = `${method} ${path}`;
        const url = `${app.url}${path.replace('{id}', MISSING_ID)}`;
        const anonymous = await request(method.toUpperCase(), url, ['post', 'patch', 'put'].includes(method) ? { body: {} } : {});
        const secured = (operation.security ?? []).some((requirement) => 'bearer' in requirement);
        expect({ label, secured, refusedWithoutToken: anonymous.status === 401 }).toEqual({ label, secured, refusedWithoutToken: secured });
      }
    });
  });

  describe('bad input', () => {
    it('answers malformed JSON with 400 INVALID_JSON', async () => {
      for (const body of ['{"email":', '{email: "a"}', "{'a': 1}", 'null', '"a string"', '42', '{"a":1}}']) {
        const response = await request('POST', `${app.api}/auth/login`, { body });
        expectError(response, 400, 'INVALID_JSON');
      }
      const authenticated = await request('POST', `${app.api}/environments`, { token, body: '{"name": "x",' });
      expectError(authenticated, 400, 'INVALID_JSON');
    });

    it('answers an unknown field with 400 VALIDATION_FAILED naming it in details', async () => {
      const response = await request('POST', `${app.api}/auth/login`, { body: { email: 'a@example.com', password: 'whatever', admin: true } });
      expectError(response, 400, 'VALIDATION_FAILED');
      expect(response.body.details).toContainEqual({ field: 'admin', message: expect.any(String) });

      const nested = await request('POST', `${app.api}/environments`, { token, body: { name: 'x', templateId: MISSING_ID, resources: { gpu: '1' } } });
      expectError(nested, 400, 'VALIDATION_FAILED');
      expect(nested.body.details).toContainEqual({ field: 'resources.gpu', message: expect.any(String) });

      const query = await request('GET', `${app.api}/environments?sort=name`, { token });
      expectError(query, 400, 'VALIDATION_FAILED');
      expect(query.body.details).toContainEqual({ field: 'sort', message: expect.any(String) });
    });

    it('answers a malformed id with 400 INVALID_ID on every route that takes one', async () => {
      for (const { method, path } of operations.filter((operation) => operation.path.includes('{id}'))) {
        for (const id of ['not-a-uuid', '1234', `${MISSING_ID}0`, 'zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz']) {
          const response = await request(method.toUpperCase(), `${app.url}${path.replace('{id}', id)}`, {
            token,
            ...(['post', 'patch'].includes(method) ? { body: { name: 'valid-name' } } : {}),
          });
          expect({ route: `${method} ${path}`, id, status: response.status, code: response.body.code }).toEqual({
            route: `${method} ${path}`,
            id,
            status: 400,
            code: 'INVALID_ID',
          });
          expectErrorShape(response);
        }
      }
    });

    it('answers a body over BODY_LIMIT (100 KiB) with 413 PAYLOAD_TOO_LARGE, and one just under it as ordinary bad input', async () => {
      const before = await count('environments');
      const over = await request('POST', `${app.api}/environments`, { token, body: { name: 'big', templateId: MISSING_ID, pad: 'a'.repeat(110 * 1024) } });
      expectError(over, 413, 'PAYLOAD_TOO_LARGE');
      const under = await request('POST', `${app.api}/environments`, { token, body: { name: 'big', templateId: MISSING_ID, pad: 'a'.repeat(90 * 1024) } });
      expectError(under, 400, 'VALIDATION_FAILED');
      // Compression does not get around the limit: it applies to the inflated body.
      const zipped = gzipSync(JSON.stringify({ email: 'a@example.com', password: 'x', pad: 'a'.repeat(200 * 1024) }));
      expect(zipped.length).toBeLessThan(10 * 1024);
      const response = await fetch(`${app.api}/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
        body: zipped,
      });
      expect(response.status).toBe(413);
      expect(((await response.json()) as { code: string }).code).toBe('PAYLOAD_TOO_LARGE');
      expect(await count('environments')).toBe(before);
    });

    it('answers a body that does not decompress, or an unsupported encoding or charset, with a 4xx', async () => {
      for (const encoding of ['gzip', 'deflate', 'br']) {
        const response = await fetch(`${app.api}/auth/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'content-encoding': encoding },
          body: Buffer.from('this is not compressed'),
        });
        const body = (await response.json()) as { code: string };
        expect({ encoding, status: response.status, code: body.code }).toEqual({ encoding, status: 400, code: 'VALIDATION_FAILED' });
      }
      const compress = await request('POST', `${app.api}/auth/login`, { body: '{}', headers: { 'content-encoding': 'compress' } });
      expectError(compress, 415, 'UNSUPPORTED_MEDIA_TYPE');
      const charset = await request('POST', `${app.api}/auth/login`, { body: '{}', headers: { 'content-type': 'application/json; charset=latin1' } });
      expectError(charset, 415, 'UNSUPPORTED_MEDIA_TYPE');
    });

    it('refuses wrong types with 400 VALIDATION_FAILED: number for string, array for object, null, nested too deep', async () => {
      const cases: Array<[string, string, unknown]> = [
        ['POST', '/auth/login', { email: 123, password: 'x' }],
        ['POST', '/auth/login', { username: ['a'], password: 'x' }],
        ['POST', '/auth/login', { username: { $ne: '' }, password: 'x' }],
        ['POST', '/auth/login', { username: 'someone', password: null }],
        ['POST', '/auth/login', []],
        ['POST', '/auth/register', { email: 'a@example.com', username: 12345, password: 'long enough' }],
        ['POST', '/auth/refresh', { refreshToken: 42 }],
        ['POST', '/auth/refresh', { refreshToken: null }],
        ['POST', '/environments', { name: 7, templateId: MISSING_ID }],
        ['POST', '/environments', { name: null, templateId: MISSING_ID }],
        ['POST', '/environments', { name: 'ok', templateId: MISSING_ID, resources: [] }],
        ['POST', '/environments', { name: 'ok', templateId: MISSING_ID, resources: 'big' }],
        ['POST', '/environments', { name: 'ok', templateId: MISSING_ID, resources: { cpu: 2 } }],
        ['POST', '/environments', [{ name: 'ok', templateId: MISSING_ID }]],
        ['PATCH', '/users/me', { username: null }],
        ['PATCH', '/users/me', { username: 42 }],
        ['PATCH', '/users/me', { fullName: ['a'] }],
        ['PATCH', `/environments/${MISSING_ID}`, { name: null }],
        // Nested far deeper than any DTO (sent as text: JSON.stringify would overflow here first).
        ['POST', '/auth/login', `{"username":"someone","password":"x","extra":${'['.repeat(20000)}${']'.repeat(20000)}}`],
        ['POST', '/auth/login', `${'['.repeat(40000)}${']'.repeat(40000)}`],
        ['POST', '/environments', `{"name":"ok","templateId":"${MISSING_ID}","resources":${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}}`],
      ];
      for (const [method, path, body] of cases) {
        const response = await request(method, `${app.api}${path}`, { token, body });
        const sent = (typeof body === 'string' ? body : JSON.stringify(body)).slice(0, 80);
        expect({ method, path, body: sent, status: response.status, code: response.body.code }).toEqual({
          method,
          path,
          body: sent,
          status: 400,
          code: 'VALIDATION_FAILED',
        });
        expectErrorShape(response);
      }
    });

    it('refuses text PostgreSQL cannot store (NUL characters) with 400, in bodies and queries', async () => {
      const cases: Array<[string, string, unknown]> = [
        ['POST', '/auth/register', { email: 'nul@example.com', username: 'nul-user', password: 'long enough', fullName: 'a\u0000b' }],
        ['POST', '/auth/login', { username: 'a\u0000b', password: 'x' }],
        ['PATCH', '/users/me', { fullName: 'a\u0000b' }],
        ['GET', `/templates?q=${encodeURIComponent('a\u0000b')}`, undefined],
        ['GET', `/templates?category=${encodeURIComponent('\u0000')}`, undefined],
      ];
      const users = await count('users');
      for (const [method, path, body] of cases) {
        const response = await request(method, `${app.api}${path}`, { token, body });
        expect({ method, path, status: response.status }).toEqual({ method, path, status: 400 });
        expect(response.body.code).toBe('VALIDATION_FAILED');
        expectErrorShape(response);
      }
      expect(await count('users')).toBe(users);
      const me = await request('GET', `${app.api}/users/me`, { token });
      expect(me.body.fullName).toBeNull();
    });

    it('answers an unknown route with 404 in the error shape', async () => {
      for (const [method, path] of [
        ['GET', '/api/v1/nothing-here'],
        ['POST', '/api/v1/environments/x/y/z'],
        ['DELETE', '/api/v1/templates'],
        ['GET', '/nothing-here'],
      ]) {
        const response = await request(method, `${app.url}${path}`, { token });
        expectError(response, 404, 'NOT_FOUND');
      }
    });

    it('leaves no row behind after a refused create', async () => {
      const before = { users: await count('users'), environments: await count('environments'), tokens: await count('refresh_tokens') };
      const refused: Array<[string, unknown]> = [
        ['/auth/register', { email: 'half@example.com', username: 'half', password: 'short' }],
        ['/auth/register', { email: 'half@example.com', username: 'half', password: 'long enough', role: 'admin' }],
        ['/auth/register', { email: 'half@example.com', username: 'half', password: 'long enough', pad: 'a'.repeat(120 * 1024) }],
        ['/auth/register', '{"email":"half@example.com","username":"half","password":"long enough"'],
        ['/environments', { name: 'half', templateId: MISSING_ID }],
        ['/environments', { name: 'half', templateId: MISSING_ID, extra: true }],
        ['/environments', { name: 'Half Written', templateId: MISSING_ID }],
        ['/environments', { name: 'half', templateId: MISSING_ID, resources: { cpu: 'lots' } }],
        ['/environments', '{"name":"half","templateId":'],
      ];
      for (const [path, body] of refused) {
        const response = await request('POST', `${app.api}${path}`, { token, body });
        expect(response.status).toBeGreaterThanOrEqual(400);
        expect(response.status).toBeLessThan(500);
        expectErrorShape(response);
      }
      expect({ users: await count('users'), environments: await count('environments'), tokens: await count('refresh_tokens') }).toEqual(before);
      expect((await db.query(`SELECT 1 FROM users WHERE email = 'half@example.com'`)).rowCount).toBe(0);
    });
  });

  describe('sweep of every documented route', () => {
    const IDS = [MISSING_ID, 'not-a-uuid', '%00', '..%2F..%2Fetc%2Fpasswd', 'a'.repeat(300), "1'%20OR%20'1'%3D'1", '%E0%A4%A'];
    const RAW_BODIES = ['', '{', 'null', '[]', '"x"', '{}', '{"a":{"b":[1,2,{"c":null}]}}', JSON.stringify({ __proto__: { admin: true }, constructor: { prototype: {} } })];
    const ODD_VALUES: unknown[] = [null, 0, -1, 1e308, true, [], {}, ['x'], { $gt: '' }, '', 'x'.repeat(5000), '\u0000', '../../etc/passwd', '<script>'];
    const QUERIES = ['?limit=-1', '?limit=1e9', '?offset=abc', '?limit=1&limit=2', '?status=%00', '?q[]=1', '?tail=99999999999', '?category=' + 'c'.repeat(500)];

    it('never answers 5xx, with or without a token, whatever the ids, bodies and queries', async () => {
      let calls = 0;
      const failures: string[] = [];
      for (const { method, path, operation } of operations) {
        // A fresh account for each route: the sweep may delete it or revoke its tokens.
        const sweeper = await registerUser(app.api);
        const bodySchema = operation.requestBody?.content?.['application/json']?.schema?.$ref;
        const properties = bodySchema ? Object.keys(schemaOf(bodySchema).properties ?? {}) : [];
        const bodies: unknown[] = [...RAW_BODIES, ...properties.flatMap((property) => ODD_VALUES.map((value) => ({ [property]: value })))];
        const ids = path.includes('{id}') ? IDS : [''];
        for (const id of ids) {
          const url = `${app.url}${path.replace('{id}', id)}`;
          const attempts: Array<{ url: string; body?: unknown; token?: string }> = [];
          for (const auth of [undefined, sweeper.accessToken]) {
            if (['post', 'patch', 'put'].includes(method)) for (const body of bodies) attempts.push({ url, body, token: auth });
            else for (const query of ['', ...QUERIES]) attempts.push({ url: `${url}${query}`, token: auth });
          }
          for (const attempt of attempts) {
            const response = await request(method.toUpperCase(), attempt.url, { token: attempt.token, body: attempt.body });
            calls += 1;
            const label = `${method.toUpperCase()} ${attempt.url.replace(app.url, '').slice(0, 120)} ${JSON.stringify(attempt.body ?? '').slice(0, 80)} token=${Boolean(attempt.token)}`;
            if (response.status >= 500) failures.push(`${label} -> ${response.status} ${JSON.stringify(response.body).slice(0, 200)}`);
            else if (response.status >= 400 && OAUTH_ROUTES.includes(`${method} ${path}`) && response.body?.error) expectOAuthErrorShape(response, label);
            else if (response.status >= 400) expectErrorShape(response, label);
          }
        }
      }
      expect(failures).toEqual([]);
      expect(calls).toBeGreaterThan(500);
    }, 120_000);
  });
});
