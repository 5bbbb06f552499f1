import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { registerUser, request, startTestServer, waitForStatus, type TestServer } from '../support/server.js';
import { SocketTerminal } from '../support/terminal-clients.js';

describe('Own account', () => {
  let app: TestServer;

  beforeAll(async () => {
    // A closed terminal ends its session at once (no resume grace), so its counters are written.
    app = await startTestServer({ TERMINAL_RESUME_SECONDS: '0' });
    await registerUser(app.api, 'meadmin');
  });

  afterAll(async () => {
    await app?.close();
  });

  describe('POST /users/me/password', () => {
    it('changes the password and revokes every session, the caller’s included', async () => {
      const user = await registerUser(app.api);
      const other = await request('POST', `${app.api}/auth/login`, { body: { email: user.user.email, password: user.password } });
      expect(other.status).toBe(200);
      const change = (body: unknown) => request('POST', `${app.api}/users/me/password`, { token: user.accessToken, body });

      const wrong = await change({ currentPassword: 'not my password', newPassword: 'a brand new secret' });
      expect(wrong.status).toBe(422);
      expect(wrong.body).toMatchObject({ code: 'WRONG_PASSWORD', details: [{ field: 'currentPassword', message: 'does not match' }] });
      expect((await change({ currentPassword: user.password, newPassword: 'short' })).status).toBe(400);
      expect((await change({ currentPassword: user.password })).status).toBe(400);

      const changed = await change({ currentPassword: user.password, newPassword: 'a brand new secret' });
      expect(changed.status).toBe(204);
      expect(changed.body).toBeUndefined();

      for (const token of [user.accessToken, other.body.accessToken]) expect((await request('GET', `${app.api}/users/me`, { token })).status).toBe(401);
      for (const refreshToken of [user.refreshToken, other.body.refreshToken]) {
        expect((await request('POST', `${app.api}/auth/refresh`, { body: { refreshToken } })).status).toBe(401);
      }
      expect((await request('POST', `${app.api}/auth/login`, { body: { email: user.user.email, password: user.password } })).status).toBe(401);
      const signedIn = await request('POST', `${app.api}/auth/login`, { body: { email: user.user.email, password: 'a brand new secret' } });
      expect(signedIn.status).toBe(200);
      expect((await request('GET', `${app.api}/users/me`, { token: signedIn.body.accessToken })).status).toBe(200);
    });

    it('needs a signed-in caller', async () => {
      const response = await request('POST', `${app.api}/users/me/password`, { body: { currentPassword: 'x', newPassword: 'a brand new secret' } });
      expect(response.status).toBe(401);
    });
  });

  describe('GET /users/me/stats', () => {
    it('counts the environments by status and gives the plan’s limits', async () => {
      const user = await registerUser(app.api);
      const empty = await request('GET', `${app.api}/users/me/stats`, { token: user.accessToken });
      expect(empty.status).toBe(200);
      expect(empty.body).toEqual({
        environments: { total: 0, creating: 0, provisioning: 0, installing: 0, running: 0, stopping: 0, stopped: 0, restarting: 0, error: 0, terminating: 0 },
        terminal: { sessions: 0, seconds: 0, bytesIn: 0, bytesOut: 0 },
        // The test server raises the free plan's limits (test/support/server.ts).
        plan: { name: 'free', maxEnvironments: 50, maxResources: { cpu: '8', memory: '32Gi', storage: '200Gi' } },
      });

      const templates = await request('GET', `${app.api}/templates?q=ubuntu`, { token: user.accessToken });
      const templateId = templates.body.items.find((item: { name: string }) => item.name === 'ubuntu').id;
      const ids: string[] = [];
      for (const name of ['one', 'two']) ids.push((await request('POST', `${app.api}/environments`, { token: user.accessToken, body: { name, templateId } })).body.id);
      for (const id of ids) await waitForStatus(app.api, user.accessToken, id, 'running');
      await request('POST', `${app.api}/environments/${ids[1]}/stop`, { token: user.accessToken });
      await waitForStatus(app.api, user.accessToken, ids[1], 'stopped');

      const { terminal } = await SocketTerminal.open(app.url, user.accessToken, { environmentId: ids[0], cols: 80, rows: 24 });
      terminal.type('echo STATS_$((6*7))\r');
      await terminal.waitFor(/STATS_42/);
      terminal.close();

      const stats = await request('GET', `${app.api}/users/me/stats`, { token: user.accessToken });
      expect(stats.body.environments).toMatchObject({ total: 2, running: 1, stopped: 1, error: 0 });
      // The session's counters are written when it ends, just after the socket closes.
      let usage = stats.body.terminal;
      for (let tries = 0; tries < 50 && usage.bytesIn === 0; tries += 1) {
        await sleep(100);
        usage = (await request('GET', `${app.api}/users/me/stats`, { token: user.accessToken })).body.terminal;
      }
      expect(usage).toMatchObject({ sessions: 1, bytesIn: Buffer.byteLength('echo STATS_$((6*7))\r') });
      expect(usage.bytesOut).toBeGreaterThan(0);
      expect((await request('GET', `${app.api}/users/me/stats`)).status).toBe(401);
    });
  });
});
