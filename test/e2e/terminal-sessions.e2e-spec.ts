import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { createRunningEnvironment, registerUser, request, startTestServer, type TestServer } from '../support/server.js';
import { io } from 'socket.io-client';
import { SocketTerminal, WsTerminal, closeAll } from '../support/terminal-clients.js';

import { setTimeout as sleep } from 'node:timers/promises';

/** Polls `read` until `check` holds on its answer (or fails after `timeoutMs`). */
async function eventually<T>(read: () => Promise<T>, check: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = await read();
  while (!check(last)) {
    if (Date.now() > deadline) throw new Error(`condition not met; last: ${JSON.stringify(last)}`);
    await sleep(50);
    last = await read();
  }
  return last;
}

// Two connections per user, so the cap is reached quickly; the resume grace is short.
describe('Terminal sessions: records, listing, ending, connection cap, activity', () => {
  let server: TestServer;
  let admin: Awaited<ReturnType<typeof registerUser>>;
  let alice: Awaited<ReturnType<typeof registerUser>>;
  let bob: Awaited<ReturnType<typeof registerUser>>;
  let shell: { id: string };
  const opened: Array<{ close(): void }> = [];

  const list = (token: string, id = shell.id, query = '') => request('GET', `${server.api}/environments/${id}/terminal-sessions${query}`, { token });

  async function socketTerminal(token = alice.accessToken) {
    const terminal = await SocketTerminal.connect(server.url, { token });
    opened.push(terminal);
    return terminal;
  }

  async function wsTerminal(token = alice.accessToken) {
    const terminal = await WsTerminal.connect(WsTerminal.address(server.url, shell.id, token));
    opened.push(terminal);
    return terminal;
  }

  /** Waits until the server holds no connected session of alice (sockets from a previous test gone). */
  async function noLiveSessions(): Promise<void> {
    await eventually(
      () => list(alice.accessToken, shell.id, '?limit=100'),
      (response) => response.body.items.every((item: { live: boolean }) => !item.live),
    );
  }

  beforeAll(async () => {
    server = await startTestServer({ TERMINAL_MAX_CONNECTIONS_PER_USER: '2', TERMINAL_RESUME_SECONDS: '0' });
    admin = await registerUser(server.api); // the first account is the admin
    alice = await registerUser(server.api);
    bob = await registerUser(server.api);
    shell = await createRunningEnvironment(server.api, alice.accessToken, 'sessions');
  });

  afterEach(async () => {
    closeAll(opened.splice(0));
    await noLiveSessions();
  });

  afterAll(async () => {
    closeAll(opened.splice(0));
    await server?.close();
  });

  it('records a Socket.IO session: live while attached, bytes and end after it closed', async () => {
    const terminal = await socketTerminal();
    const ack = await terminal.attach({ environmentId: shell.id, cols: 80, rows: 24 });
    if ('error' in ack) throw new Error(ack.error.code);
    terminal.type('echo MARK_$((6*7))\r');
    await terminal.waitFor(/MARK_42/);

    const during = await list(alice.accessToken);
    expect(during.status).toBe(200);
    expect(during.body).toMatchObject({ total: 1, limit: 20, offset: 0 });
    expect(during.body.items[0]).toMatchObject({ id: ack.sessionId, transport: 'socket.io', readOnly: false, live: true, endedAt: null, endReason: null });
    expect(during.body.items[0].client).toBeNull(); // this client sends no user agent
    expect(during.body.items[0].bytesIn).toBe(Buffer.byteLength('echo MARK_$((6*7))\r'));
    expect(during.body.items[0].bytesOut).toBeGreaterThan(0);

    terminal.close();
    const after = await eventually(
      () => list(alice.accessToken),
      (response) => response.body.items[0]?.endedAt !== null,
    );
    const item = after.body.items[0];
    expect(item).toMatchObject({ id: ack.sessionId, live: false, endReason: 'detached', bytesIn: Buffer.byteLength('echo MARK_$((6*7))\r') });
    expect(item.bytesOut).toBeGreaterThan(0);
    expect(Date.parse(item.endedAt)).toBeGreaterThanOrEqual(Date.parse(item.startedAt));
  });

  it('records a plain WebSocket session, newest first', async () => {
    const terminal = await wsTerminal();
    await terminal.waitForFrame('welcome');
    terminal.type('echo WS_$((6*7))\r');
    await terminal.waitFor(/WS_42/);
    const during = await list(alice.accessToken);
    expect(during.body.items[0]).toMatchObject({ transport: 'websocket', live: true });
    const id = during.body.items[0].id;
    terminal.close();
    const after = await eventually(
      () => list(alice.accessToken),
      (response) => response.body.items.find((item: { id: string }) => item.id === id)?.endedAt != null,
    );
    expect(after.body.items[0]).toMatchObject({ id, transport: 'websocket', live: false, endReason: 'detached' });
    expect(after.body.items[0].bytesIn).toBeGreaterThan(0);
    expect(after.body.items[0].bytesOut).toBeGreaterThan(0);
    expect(after.body.items[1].transport).toBe('socket.io');
    expect(after.body.total).toBe(2);
  });

  it("records the socket's user agent as the client, trimmed to 200 characters", async () => {
    const userAgent = `DevPocketTest/1.0 ${'x'.repeat(300)}`;
    const socket = io(`${server.url}/terminal`, { auth: { token: alice.accessToken }, transports: ['websocket'], reconnection: false, forceNew: true, extraHeaders: { 'user-agent': userAgent } });
    opened.push(socket);
    const ack = await socket.timeout(10_000).emitWithAck('attach', { environmentId: shell.id, cols: 80, rows: 24 });
    expect(ack.sessionId).toEqual(expect.any(String));
    const item = (await list(alice.accessToken)).body.items.find((entry: { id: string }) => entry.id === ack.sessionId);
    expect(item.client).toBe(userAgent.slice(0, 200));
  });

  it('hides the list and the sessions from another user', async () => {
    const terminal = await socketTerminal();
    const ack = await terminal.attach({ environmentId: shell.id, cols: 80, rows: 24 });
    if ('error' in ack) throw new Error(ack.error.code);
    expect((await list(bob.accessToken)).status).toBe(404);
    const killed = await request('DELETE', `${server.api}/environments/${shell.id}/terminal-sessions/${ack.sessionId}`, { token: bob.accessToken });
    expect(killed.status).toBe(404);
    expect(terminal.connected).toBe(true);
  });

  it('lets the owner end a live session: its client gets exit session_killed', async () => {
    const terminal = await socketTerminal();
    const ack = await terminal.attach({ environmentId: shell.id, cols: 80, rows: 24 });
    if ('error' in ack) throw new Error(ack.error.code);
    const killed = await request('DELETE', `${server.api}/environments/${shell.id}/terminal-sessions/${ack.sessionId}`, { token: alice.accessToken });
    expect(killed.status).toBe(204);
    await terminal.waitUntil(() => terminal.exits.length > 0 && terminal.disconnectReason !== undefined, 'exit and disconnect');
    expect(terminal.exits).toEqual([{ reason: 'session_killed' }]);
    const after = await eventually(
      () => list(alice.accessToken),
      (response) => response.body.items.find((item: { id: string }) => item.id === ack.sessionId)?.endReason === 'session_killed',
    );
    expect(after.body.items.find((item: { id: string }) => item.id === ack.sessionId).live).toBe(false);

    const unknown = await request('DELETE', `${server.api}/environments/${shell.id}/terminal-sessions/00000000-0000-4000-8000-000000000000`, { token: alice.accessToken });
    expect(unknown.status).toBe(404);
  });

  it('lets an admin end a session of any user, on either transport', async () => {
    const terminal = await wsTerminal();
    await terminal.waitForFrame('welcome');
    terminal.type('echo ADMIN_$((6*7))\r');
    await terminal.waitFor(/ADMIN_42/);
    const live = (await list(alice.accessToken)).body.items.find((item: { live: boolean }) => item.live);
    const killed = await request('DELETE', `${server.api}/environments/${shell.id}/terminal-sessions/${live.id}`, { token: admin.accessToken });
    expect(killed.status).toBe(204);
    const exit = await terminal.waitForFrame('exit');
    expect(exit).toEqual({ type: 'exit', reason: 'session_killed' });
    await terminal.waitForClose();
  });

  it('refuses a connection past the per-user cap on both transports, and frees a slot on close', async () => {
    const first = await socketTerminal();
    expect('error' in (await first.attach({ environmentId: shell.id, cols: 80, rows: 24 }))).toBe(false);
    const second = await wsTerminal();
    await second.waitForFrame('welcome');
    await eventually(
      () => list(alice.accessToken),
      (response) => response.body.items.filter((item: { live: boolean }) => item.live).length === 2,
    );

    const third = await socketTerminal();
    const refused = await third.attach({ environmentId: shell.id, cols: 80, rows: 24 });
    expect(refused).toEqual({ error: { code: 'TOO_MANY_CONNECTIONS', message: expect.any(String) } });
    expect(third.connected).toBe(true);

    const thirdWs = await wsTerminal();
    const error = await thirdWs.waitForFrame('error');
    expect(error).toMatchObject({ type: 'error', code: 'TOO_MANY_CONNECTIONS' });
    const closed = await thirdWs.waitForClose();
    expect(closed.reason).toBe('TOO_MANY_CONNECTIONS');

    // Another user is not affected.
    const bobsShell = await createRunningEnvironment(server.api, bob.accessToken, 'bobs');
    const bobs = await SocketTerminal.open(server.url, bob.accessToken, { environmentId: bobsShell.id, cols: 80, rows: 24 });
    opened.push(bobs.terminal);

    second.close();
    await second.waitForClose();
    const retried = await eventually(
      () => third.attach({ environmentId: shell.id, cols: 80, rows: 24 }),
      (ack) => !('error' in ack) || ack.error.code !== 'TOO_MANY_CONNECTIONS',
    );
    expect(retried).toMatchObject({ resume: 'new', readOnly: false });
  });

  it('sets lastActivityAt on terminal input, written at most once a minute', async () => {
    const fresh = await createRunningEnvironment(server.api, alice.accessToken, 'activity');
    expect(fresh.lastActivityAt).toBeNull();
    const { terminal } = await SocketTerminal.open(server.url, alice.accessToken, { environmentId: fresh.id, cols: 80, rows: 24 });
    opened.push(terminal);
    const before = Date.now();
    terminal.type('echo ACTIVE_$((6*7))\r');
    await terminal.waitFor(/ACTIVE_42/);
    const touched = await eventually(
      () => request('GET', `${server.api}/environments/${fresh.id}`, { token: alice.accessToken }),
      (response) => response.body.lastActivityAt !== null,
    );
    expect(Date.parse(touched.body.lastActivityAt)).toBeGreaterThanOrEqual(before - 1000);

    terminal.type('echo AGAIN_$((6*7))\r');
    await terminal.waitFor(/AGAIN_42/);
    await sleep(200);
    const again = await request('GET', `${server.api}/environments/${fresh.id}`, { token: alice.accessToken });
    expect(again.body.lastActivityAt).toBe(touched.body.lastActivityAt);
  });

  it('counts attached terminal sessions in the Prometheus metrics at GET /metrics', async () => {
    const terminal = await socketTerminal();
    const ack = await terminal.attach({ environmentId: shell.id, cols: 80, rows: 24 });
    if ('error' in ack) throw new Error(ack.error.code);
    const scraped = await request('GET', `${server.url}/metrics`);
    expect(scraped.status).toBe(200);
    expect(scraped.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(scraped.body).toContain('devpocket_terminal_sessions{state="attached"} 1');
    expect(scraped.body).toContain('devpocket_process_cpu_user_seconds_total');
  });
});
