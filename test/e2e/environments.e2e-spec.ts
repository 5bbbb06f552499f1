import { execFile } from 'node:child_process';
import { access, mkdir, readFile, readlink, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { LocalRuntime } from '@devpocket/runtime';
import { createRunningEnvironment, registerUser, request, startTestServer, waitForStatus, type JsonResponse, type TestServer } from '../support/server.js';

const run = promisify(execFile);

const ENVIRONMENT_FIELDS = [
  'clusterId',
  'createdAt',
  'id',
  'lastActivityAt',
  'lastError',
  'name',
  'resources',
  'runtime',
  'status',
  'templateId',
  'updatedAt',
  'url',
];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const MISSING_ID = '00000000-0000-4000-8000-000000000000';

function expectError(response: JsonResponse, status: number, code: string): void {
  expect(response.status).toBe(status);
  expect(response.body).toMatchObject({ statusCode: status, code });
  for (const key of Object.keys(response.body)) expect(['statusCode', 'code', 'message', 'details']).toContain(key);
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

describe('Environments', () => {
  let app: TestServer;
  let db: pg.Client;
  let runtime: LocalRuntime;
  let owner: Awaited<ReturnType<typeof registerUser>>;
  let other: Awaited<ReturnType<typeof registerUser>>;
  let templates: Record<string, { id: string; resources: Record<string, string> }>;

  beforeAll(async () => {
    app = await startTestServer();
    db = new pg.Client({ connectionString: app.databaseUrl });
    await db.connect();
    // The same paths the server's local driver uses (same DATA_DIR, default socket directory).
    runtime = new LocalRuntime({ dataDir: app.dataDir });
    owner = await registerUser(app.api);
    other = await registerUser(app.api);
    const list = await request('GET', `${app.api}/templates`, { token: owner.accessToken });
    templates = Object.fromEntries(list.body.items.map((template: { name: string }) => [template.name, template]));
  });

  afterAll(async () => {
    await db?.end();
    await app?.close();
  });

  function envDir(id: string): string {
    return join(app.dataDir, 'environments', id);
  }

  /** The tmux server of the environment (its own socket), asked directly. */
  async function tmux(id: string, ...args: string[]): Promise<string> {
    const { stdout } = await run('tmux', ['-S', runtime.paths({ id }).socket, ...args], { encoding: 'utf8' });
    return stdout.trim();
  }

  async function hasShell(id: string): Promise<boolean> {
    try {
      await tmux(id, 'has-session', '-t', `=devpocket_${id}`);
      return true;
    } catch {
      return false;
    }
  }

  async function row(id: string): Promise<Record<string, any> | undefined> {
    return (await db.query('SELECT * FROM environments WHERE id = $1', [id])).rows[0];
  }

  async function countRows(userId: string): Promise<number> {
    return Number((await db.query('SELECT count(*) AS n FROM environments WHERE user_id = $1', [userId])).rows[0].n);
  }

  function create(body: Record<string, unknown>, token = owner.accessToken): Promise<JsonResponse> {
    return request('POST', `${app.api}/environments`, { token, body });
  }

  function action(id: string, verb: 'start' | 'stop' | 'restart', token = owner.accessToken): Promise<JsonResponse> {
    return request('POST', `${app.api}/environments/${id}/${verb}`, { token });
  }

  describe('create', () => {
    it('answers 201 creating, then reaches running with a directory and a tmux server of its own', async () => {
      const response = await create({ name: 'first-env', templateId: templates.ubuntu.id });
      expect(response.status).toBe(201);
      expect(Object.keys(response.body).sort()).toEqual(ENVIRONMENT_FIELDS);
      expect(response.body).toMatchObject({
        name: 'first-env',
        status: 'creating',
        templateId: templates.ubuntu.id,
        clusterId: null,
        runtime: 'local',
        resources: templates.ubuntu.resources,
        lastError: null,
      });
      expect(response.body.id).toMatch(UUID);
      expect(new Date(response.body.createdAt).toISOString()).toBe(response.body.createdAt);

      const id: string = response.body.id;
      const running = await waitForStatus(app.api, owner.accessToken, id, 'running');
      expect(running.lastError).toBeNull();
      expect((await row(id))?.status).toBe('running');

      const home = join(envDir(id), 'home');
      expect((await stat(home)).isDirectory()).toBe(true);
      expect(await hasShell(id)).toBe(true);
      // Its own server holds only its own session, and the shell starts in the environment's home.
      expect(await tmux(id, 'list-sessions', '-F', '#{session_name}')).toBe(`devpocket_${id}`);
      const shellPid = await tmux(id, 'list-panes', '-s', '-t', `=devpocket_${id}`, '-F', '#{pane_pid}');
      expect(await readlink(`/proc/${shellPid}/cwd`)).toBe(home);
      const shellEnvironment = (await readFile(`/proc/${shellPid}/environ`, 'utf8')).split('\0');
      expect(shellEnvironment).toContain(`HOME=${home}`);
    });

    it('takes resources from the template and overrides the ones given', async () => {
      const response = await create({ name: 'sized-env', templateId: templates.python.id, resources: { cpu: '250m' } });
      expect(response.status).toBe(201);
      expect(response.body.resources).toEqual({ ...templates.python.resources, cpu: '250m' });
      expect((await row(response.body.id))?.resources).toEqual({ ...templates.python.resources, cpu: '250m' });
      await waitForStatus(app.api, owner.accessToken, response.body.id, 'running');
    });

    it('refuses a second environment with the same name for the same user with 409, adding no row', async () => {
      const first = await create({ name: 'twin', templateId: templates.ubuntu.id });
      expect(first.status).toBe(201);
      const before = await countRows(owner.user.id);
      const second = await create({ name: 'twin', templateId: templates.nodejs.id });
      expectError(second, 409, 'ENVIRONMENT_NAME_TAKEN');
      expect(await countRows(owner.user.id)).toBe(before);
      expect((await db.query(`SELECT count(*) AS n FROM environments WHERE user_id = $1 AND name = 'twin'`, [owner.user.id])).rows[0].n).toBe('1');
      await waitForStatus(app.api, owner.accessToken, first.body.id, 'running');
    });

    it('lets two users use the same environment name', async () => {
      const mine = await create({ name: 'shared-name', templateId: templates.ubuntu.id });
      const theirs = await create({ name: 'shared-name', templateId: templates.ubuntu.id }, other.accessToken);
      expect(mine.status).toBe(201);
      expect(theirs.status).toBe(201);
      expect(theirs.body.id).not.toBe(mine.body.id);
      await waitForStatus(app.api, owner.accessToken, mine.body.id, 'running');
      await waitForStatus(app.api, other.accessToken, theirs.body.id, 'running');
    });

    it('refuses an unknown template with 404 TEMPLATE_NOT_FOUND, adding no row', async () => {
      const before = await countRows(owner.user.id);
      expectError(await create({ name: 'orphan', templateId: MISSING_ID }), 404, 'TEMPLATE_NOT_FOUND');
      expect(await countRows(owner.user.id)).toBe(before);
    });

    it('refuses bad names, bad template ids, bad quantities and unknown fields with 400, adding no row', async () => {
      const before = await countRows(owner.user.id);
      const bodies = [
        { name: 'Upper-Case', templateId: templates.ubuntu.id },
        { name: '-dash-first', templateId: templates.ubuntu.id },
        { name: 'a'.repeat(64), templateId: templates.ubuntu.id },
        { name: '', templateId: templates.ubuntu.id },
        { name: 'ok-name', templateId: 'ubuntu' },
        { name: 'ok-name' },
        { name: 'ok-name', templateId: templates.ubuntu.id, resources: { cpu: 'lots' } },
        { name: 'ok-name', templateId: templates.ubuntu.id, resources: { gpu: '1' } },
        { name: 'ok-name', templateId: templates.ubuntu.id, status: 'running' },
        { name: 'ok-name', templateId: templates.ubuntu.id, userId: other.user.id },
      ];
      for (const body of bodies) {
        const response = await create(body);
        expectError(response, 400, 'VALIDATION_FAILED');
        expect(response.body.details.length).toBeGreaterThan(0);
      }
      expect(await countRows(owner.user.id)).toBe(before);
    });

    it('ends in error with lastError, not in a transitional status, when the directory cannot be made', async () => {
      // Make DATA_DIR/environments a regular file for the length of one create.
      const environments = join(app.dataDir, 'environments');
      const aside = join(app.dataDir, 'environments.aside');
      await rename(environments, aside);
      await writeFile(environments, 'not a directory');
      let id: string;
      try {
        const response = await create({ name: 'doomed-at-birth', templateId: templates.ubuntu.id });
        expect(response.status).toBe(201);
        id = response.body.id;
        const failed = await waitForStatus(app.api, owner.accessToken, id, 'error');
        expect(typeof failed.lastError).toBe('string');
        expect(failed.lastError.length).toBeGreaterThan(0);
        expect(await row(id)).toMatchObject({ status: 'error', last_error: failed.lastError });
      } finally {
        await rm(environments, { force: true });
        await rename(aside, environments);
      }
      // Once the host is fixed, start from error brings it up.
      expect((await action(id, 'start')).status).toBe(202);
      const running = await waitForStatus(app.api, owner.accessToken, id, 'running');
      expect(running.lastError).toBeNull();
    });
  });

  describe('list and get', () => {
    let user: Awaited<ReturnType<typeof registerUser>>;
    const ids: string[] = [];

    beforeAll(async () => {
      user = await registerUser(app.api);
      for (const name of ['list-a', 'list-b', 'list-c']) {
        ids.push((await createRunningEnvironment(app.api, user.accessToken, name)).id);
      }
      expect((await action(ids[1], 'stop', user.accessToken)).status).toBe(202);
      await waitForStatus(app.api, user.accessToken, ids[1], 'stopped');
    });

    it('lists only the caller\'s environments in the list shape, newest first', async () => {
      const response = await request('GET', `${app.api}/environments`, { token: user.accessToken });
      expect(response.status).toBe(200);
      expect(Object.keys(response.body).sort()).toEqual(['items', 'limit', 'offset', 'total']);
      expect(response.body).toMatchObject({ total: 3, limit: 20, offset: 0 });
      expect(response.body.items.map((env: { id: string }) => env.id)).toEqual([...ids].reverse());
      for (const env of response.body.items) expect(Object.keys(env).sort()).toEqual(ENVIRONMENT_FIELDS);
    });

    it('pages with limit and offset', async () => {
      const first = await request('GET', `${app.api}/environments?limit=2&offset=0`, { token: user.accessToken });
      const second = await request('GET', `${app.api}/environments?limit=2&offset=2`, { token: user.accessToken });
      expect(first.body).toMatchObject({ total: 3, limit: 2, offset: 0 });
      expect(second.body).toMatchObject({ total: 3, limit: 2, offset: 2 });
      expect(first.body.items).toHaveLength(2);
      expect(second.body.items).toHaveLength(1);
      const seen = [...first.body.items, ...second.body.items].map((env: { id: string }) => env.id);
      expect(seen.sort()).toEqual([...ids].sort());
    });

    it('filters by status', async () => {
      const stopped = await request('GET', `${app.api}/environments?status=stopped`, { token: user.accessToken });
      expect(stopped.status).toBe(200);
      expect(stopped.body.total).toBe(1);
      expect(stopped.body.items.map((env: { id: string }) => env.id)).toEqual([ids[1]]);
      const running = await request('GET', `${app.api}/environments?status=running`, { token: user.accessToken });
      expect(running.body.total).toBe(2);
      const none = await request('GET', `${app.api}/environments?status=error`, { token: user.accessToken });
      expect(none.body).toEqual({ items: [], total: 0, limit: 20, offset: 0 });
    });

    it('refuses an unknown status filter and out-of-range paging with 400', async () => {
      for (const query of ['status=sleeping', 'limit=0', 'limit=101', 'offset=-1', 'limit=two']) {
        expectError(await request('GET', `${app.api}/environments?${query}`, { token: user.accessToken }), 400, 'VALIDATION_FAILED');
      }
    });

    it('gets one environment, as the list shows it', async () => {
      const list = await request('GET', `${app.api}/environments`, { token: user.accessToken });
      for (const env of list.body.items) {
        const response = await request('GET', `${app.api}/environments/${env.id}`, { token: user.accessToken });
        expect(response.status).toBe(200);
        expect(response.body).toEqual(env);
      }
    });

    it('answers 404 ENVIRONMENT_NOT_FOUND for an unknown id and 400 INVALID_ID for a malformed one', async () => {
      expectError(await request('GET', `${app.api}/environments/${MISSING_ID}`, { token: user.accessToken }), 404, 'ENVIRONMENT_NOT_FOUND');
      expectError(await request('GET', `${app.api}/environments/list-a`, { token: user.accessToken }), 400, 'INVALID_ID');
    });

    it('gives the log lines of an environment as {lines}', async () => {
      const response = await request('GET', `${app.api}/environments/${ids[0]}/logs`, { token: user.accessToken });
      expect(response.status).toBe(200);
      expect(Object.keys(response.body)).toEqual(['lines']);
      expect(response.body.lines.length).toBeGreaterThan(0);
      for (const line of response.body.lines) expect(typeof line).toBe('string');
      expect(response.body.lines.join('\n')).toContain('provisioned from template ubuntu');

      const tail = await request('GET', `${app.api}/environments/${ids[1]}/logs?tail=1`, { token: user.accessToken });
      expect(tail.status).toBe(200);
      expect(tail.body.lines).toHaveLength(1);
      expect(tail.body.lines[0]).toContain('stop');
      expectError(await request('GET', `${app.api}/environments/${ids[0]}/logs?tail=0`, { token: user.accessToken }), 400, 'VALIDATION_FAILED');
    });
  });

  describe('rename', () => {
    it('renames with PATCH {name} and stores it', async () => {
      const env = await createRunningEnvironment(app.api, owner.accessToken, 'before-rename');
      const response = await request('PATCH', `${app.api}/environments/${env.id}`, { token: owner.accessToken, body: { name: 'after-rename' } });
      expect(response.status).toBe(200);
      expect(response.body).toMatchObject({ id: env.id, name: 'after-rename', status: 'running' });
      expect((await row(env.id))?.name).toBe('after-rename');
      // The old name is free again.
      const reuse = await create({ name: 'before-rename', templateId: templates.ubuntu.id });
      expect(reuse.status).toBe(201);
      await waitForStatus(app.api, owner.accessToken, reuse.body.id, 'running');
    });

    it('refuses a name used by another of the user\'s environments with 409 and keeps the old name', async () => {
      const a = await createRunningEnvironment(app.api, owner.accessToken, 'rename-a');
      const b = await createRunningEnvironment(app.api, owner.accessToken, 'rename-b');
      const response = await request('PATCH', `${app.api}/environments/${b.id}`, { token: owner.accessToken, body: { name: 'rename-a' } });
      expectError(response, 409, 'ENVIRONMENT_NAME_TAKEN');
      expect((await row(b.id))?.name).toBe('rename-b');
      expect((await row(a.id))?.name).toBe('rename-a');
    });

    it('refuses an invalid name or other fields with 400', async () => {
      const env = await createRunningEnvironment(app.api, owner.accessToken, 'rename-bad');
      for (const body of [{ name: 'Not Valid' }, {}, { name: 'fine', status: 'stopped' }, { name: 7 }]) {
        expectError(await request('PATCH', `${app.api}/environments/${env.id}`, { token: owner.accessToken, body }), 400, 'VALIDATION_FAILED');
      }
      expect(await row(env.id)).toMatchObject({ name: 'rename-bad', status: 'running' });
    });
  });

  describe('lifecycle', () => {
    it('stops (202, stopping) to stopped: the shell ends, the files stay', async () => {
      const env = await createRunningEnvironment(app.api, owner.accessToken, 'stop-me');
      await writeFile(join(envDir(env.id), 'home', 'keep.txt'), 'still here');
      const response = await action(env.id, 'stop');
      expect(response.status).toBe(202);
      expect(response.body).toMatchObject({ id: env.id, status: 'stopping' });
      await waitForStatus(app.api, owner.accessToken, env.id, 'stopped');
      expect((await row(env.id))?.status).toBe('stopped');
      expect(await hasShell(env.id)).toBe(false);
      expect(await exists(join(envDir(env.id), 'home', 'keep.txt'))).toBe(true);
    });

    it('refuses stop, and restart, of a stopped environment with 422 INVALID_STATE', async () => {
      const env = await createRunningEnvironment(app.api, owner.accessToken, 'stopped-twice');
      expect((await action(env.id, 'stop')).status).toBe(202);
      await waitForStatus(app.api, owner.accessToken, env.id, 'stopped');
      expectError(await action(env.id, 'stop'), 422, 'INVALID_STATE');
      expectError(await action(env.id, 'restart'), 422, 'INVALID_STATE');
      expect((await row(env.id))?.status).toBe('stopped');
    });

    it('refuses start of a running environment with 422 INVALID_STATE', async () => {
      const env = await createRunningEnvironment(app.api, owner.accessToken, 'already-up');
      expectError(await action(env.id, 'start'), 422, 'INVALID_STATE');
      expect((await row(env.id))?.status).toBe('running');
    });

    it('starts a stopped environment (202) back to running with its files', async () => {
      const env = await createRunningEnvironment(app.api, owner.accessToken, 'start-me');
      await writeFile(join(envDir(env.id), 'home', 'keep.txt'), 'still here');
      expect((await action(env.id, 'stop')).status).toBe(202);
      await waitForStatus(app.api, owner.accessToken, env.id, 'stopped');
      const response = await action(env.id, 'start');
      expect(response.status).toBe(202);
      expect(response.body).toMatchObject({ id: env.id, status: 'provisioning' });
      await waitForStatus(app.api, owner.accessToken, env.id, 'running');
      expect((await row(env.id))?.status).toBe('running');
      expect(await hasShell(env.id)).toBe(true);
      expect(await exists(join(envDir(env.id), 'home', 'keep.txt'))).toBe(true);
    });

    it('restarts a running environment (202, restarting) with a new tmux server, back to running', async () => {
      const env = await createRunningEnvironment(app.api, owner.accessToken, 'restart-me');
      const pidBefore = await tmux(env.id, 'display-message', '-p', '#{pid}');
      const response = await action(env.id, 'restart');
      expect(response.status).toBe(202);
      expect(response.body).toMatchObject({ id: env.id, status: 'restarting' });
      await waitForStatus(app.api, owner.accessToken, env.id, 'running');
      expect((await row(env.id))?.status).toBe('running');
      const pidAfter = await tmux(env.id, 'display-message', '-p', '#{pid}');
      expect(pidAfter).not.toBe(pidBefore);
    });

    it('deletes (202, terminating): then GET is 404, the directory, the tmux server and the row are gone', async () => {
      const env = await createRunningEnvironment(app.api, owner.accessToken, 'delete-me');
      const response = await request('DELETE', `${app.api}/environments/${env.id}`, { token: owner.accessToken });
      expect(response.status).toBe(202);
      expect(response.body).toMatchObject({ id: env.id, status: 'terminating' });
      await waitForStatus(app.api, owner.accessToken, env.id, 'gone');
      expectError(await request('GET', `${app.api}/environments/${env.id}`, { token: owner.accessToken }), 404, 'ENVIRONMENT_NOT_FOUND');
      expect(await row(env.id)).toBeUndefined();
      expect(await exists(envDir(env.id))).toBe(false);
      expect(await hasShell(env.id)).toBe(false);
      expect(await exists(runtime.paths({ id: env.id }).socket)).toBe(false);
      // The name is free again.
      const again = await create({ name: 'delete-me', templateId: templates.ubuntu.id });
      expect(again.status).toBe(201);
      await waitForStatus(app.api, owner.accessToken, again.body.id, 'running');
    });

    it('deletes an environment that is still being created, leaving nothing behind', async () => {
      const created = await create({ name: 'short-lived', templateId: templates.ubuntu.id });
      expect(created.status).toBe(201);
      const response = await request('DELETE', `${app.api}/environments/${created.body.id}`, { token: owner.accessToken });
      expect(response.status).toBe(202);
      expect(response.body.status).toBe('terminating');
      await waitForStatus(app.api, owner.accessToken, created.body.id, 'gone');
      expect(await row(created.body.id)).toBeUndefined();
      expect(await exists(envDir(created.body.id))).toBe(false);
      expect(await hasShell(created.body.id)).toBe(false);
    });

    it('deletes a stopped environment', async () => {
      const env = await createRunningEnvironment(app.api, owner.accessToken, 'delete-stopped');
      expect((await action(env.id, 'stop')).status).toBe(202);
      await waitForStatus(app.api, owner.accessToken, env.id, 'stopped');
      expect((await request('DELETE', `${app.api}/environments/${env.id}`, { token: owner.accessToken })).status).toBe(202);
      await waitForStatus(app.api, owner.accessToken, env.id, 'gone');
      expect(await exists(envDir(env.id))).toBe(false);
    });

    it('puts an environment whose start fails in error with lastError; start from error is allowed', async () => {
      const env = await createRunningEnvironment(app.api, owner.accessToken, 'breaks-on-start');
      expect((await action(env.id, 'stop')).status).toBe(202);
      await waitForStatus(app.api, owner.accessToken, env.id, 'stopped');

      // provision rewrites tmux.conf, so break what it cannot repair: `home` becomes a regular file.
      const home = join(envDir(env.id), 'home');
      await rm(home, { recursive: true, force: true });
      await writeFile(home, 'not a directory');

      expect((await action(env.id, 'start')).status).toBe(202);
      const failed = await waitForStatus(app.api, owner.accessToken, env.id, 'error');
      expect(typeof failed.lastError).toBe('string');
      expect(failed.lastError.length).toBeGreaterThan(0);
      expect(failed.lastError).not.toMatch(/\n\s+at /);
      expect(await row(env.id)).toMatchObject({ status: 'error', last_error: failed.lastError });
      expect(await hasShell(env.id)).toBe(false);

      // From error: stop and restart are refused, start is accepted (and fails again while the host is broken).
      expectError(await action(env.id, 'stop'), 422, 'INVALID_STATE');
      expectError(await action(env.id, 'restart'), 422, 'INVALID_STATE');
      const retry = await action(env.id, 'start');
      expect(retry.status).toBe(202);
      expect(retry.body.status).toBe('provisioning');
      await waitForStatus(app.api, owner.accessToken, env.id, 'error');

      // Repaired, it starts and the error is cleared.
      await rm(home, { force: true });
      await mkdir(home);
      expect((await action(env.id, 'start')).status).toBe(202);
      const running = await waitForStatus(app.api, owner.accessToken, env.id, 'running');
      expect(running.lastError).toBeNull();
      expect((await row(env.id))?.last_error).toBeNull();
      expect(await hasShell(env.id)).toBe(true);
    });

    it('deletes an environment in error', async () => {
      const env = await createRunningEnvironment(app.api, owner.accessToken, 'delete-broken');
      expect((await action(env.id, 'stop')).status).toBe(202);
      await waitForStatus(app.api, owner.accessToken, env.id, 'stopped');
      const home = join(envDir(env.id), 'home');
      await rm(home, { recursive: true, force: true });
      await writeFile(home, 'not a directory');
      expect((await action(env.id, 'start')).status).toBe(202);
      await waitForStatus(app.api, owner.accessToken, env.id, 'error');
      expect((await request('DELETE', `${app.api}/environments/${env.id}`, { token: owner.accessToken })).status).toBe(202);
      await waitForStatus(app.api, owner.accessToken, env.id, 'gone');
      expect(await exists(envDir(env.id))).toBe(false);
      expect(await row(env.id)).toBeUndefined();
    });

    it('answers 400 INVALID_ID and 404 for actions on malformed and unknown ids', async () => {
      for (const verb of ['start', 'stop', 'restart'] as const) {
        expectError(await action('not-a-uuid', verb), 400, 'INVALID_ID');
        expectError(await action(MISSING_ID, verb), 404, 'ENVIRONMENT_NOT_FOUND');
      }
      expectError(await request('DELETE', `${app.api}/environments/not-a-uuid`, { token: owner.accessToken }), 400, 'INVALID_ID');
      expectError(await request('DELETE', `${app.api}/environments/${MISSING_ID}`, { token: owner.accessToken }), 404, 'ENVIRONMENT_NOT_FOUND');
    });
  });

  describe('ownership', () => {
    it('answers 404 ENVIRONMENT_NOT_FOUND to another user for every route, and changes nothing', async () => {
      const env = await createRunningEnvironment(app.api, owner.accessToken, 'private-env');
      const before = await row(env.id);
      const token = other.accessToken;
      const attempts: JsonResponse[] = [
        await request('GET', `${app.api}/environments/${env.id}`, { token }),
        await request('PATCH', `${app.api}/environments/${env.id}`, { token, body: { name: 'stolen' } }),
        await request('POST', `${app.api}/environments/${env.id}/stop`, { token }),
        await request('POST', `${app.api}/environments/${env.id}/restart`, { token }),
        await request('POST', `${app.api}/environments/${env.id}/start`, { token }),
        await request('GET', `${app.api}/environments/${env.id}/logs`, { token }),
        await request('DELETE', `${app.api}/environments/${env.id}`, { token }),
      ];
      const missing = await request('GET', `${app.api}/environments/${MISSING_ID}`, { token });
      for (const attempt of attempts) {
        expectError(attempt, 404, 'ENVIRONMENT_NOT_FOUND');
        // Exactly what a missing environment gets: nothing tells that it exists.
        expect(attempt.body).toEqual(missing.body);
      }
      expect(await row(env.id)).toEqual(before);
      expect(await hasShell(env.id)).toBe(true);
      expect(await exists(join(envDir(env.id), 'home'))).toBe(true);
      const list = await request('GET', `${app.api}/environments`, { token });
      expect(list.body.items.map((item: { id: string }) => item.id)).not.toContain(env.id);
      const mine = await request('GET', `${app.api}/environments/${env.id}`, { token: owner.accessToken });
      expect(mine.body).toMatchObject({ name: 'private-env', status: 'running' });
    });

    it('refuses every environment route without an access token', async () => {
      const routes: Array<[string, string]> = [
        ['GET', '/environments'],
        ['POST', '/environments'],
        ['GET', `/environments/${MISSING_ID}`],
        ['PATCH', `/environments/${MISSING_ID}`],
        ['DELETE', `/environments/${MISSING_ID}`],
        ['POST', `/environments/${MISSING_ID}/start`],
        ['POST', `/environments/${MISSING_ID}/stop`],
        ['POST', `/environments/${MISSING_ID}/restart`],
        ['GET', `/environments/${MISSING_ID}/logs`],
      ];
      for (const [method, path] of routes) expectError(await request(method, `${app.api}${path}`), 401, 'UNAUTHORIZED');
    });
  });
});
