import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { createRunningEnvironment, registerUser, request, startTestServer, type TestServer } from '../support/server.js';
import { SocketTerminal, WsTerminal, closeAll } from '../support/terminal-clients.js';

import { setTimeout as sleep } from 'node:timers/promises';

describe('Terminal guests with share links', () => {
  let server: TestServer;
  let db: pg.Client;
  let owner: Awaited<ReturnType<typeof registerUser>>;
  let admin: Awaited<ReturnType<typeof registerUser>>;
  let shell: { id: string };
  let other: { id: string };
  const opened: Array<{ close(): void }> = [];

  async function share(mode: 'read' | 'write', expiresInSeconds = 600): Promise<{ id: string; token: string }> {
    const created = await request('POST', `${server.api}/environments/${shell.id}/shares`, { token: owner.accessToken, body: { mode, expiresInSeconds } });
    expect(created.status).toBe(201);
    return created.body;
  }

  async function revoke(shareId: string): Promise<void> {
    expect((await request('DELETE', `${server.api}/environments/${shell.id}/shares/${shareId}`, { token: owner.accessToken })).status).toBe(204);
  }

  async function guest(shareToken: string, extra: Record<string, unknown> = {}) {
    const terminal = await SocketTerminal.connect(server.url, { shareToken });
    opened.push(terminal);
    const ack = await terminal.attach({ environmentId: shell.id, cols: 80, rows: 24, ...extra });
    return { terminal, ack };
  }

  async function ownerTerminal() {
    const attached = await SocketTerminal.open(server.url, owner.accessToken, { environmentId: shell.id, cols: 80, rows: 24 });
    opened.push(attached.terminal);
    return attached.terminal;
  }

  beforeAll(async () => {
    // Guest terminals re-check their links once a heartbeat.
    server = await startTestServer({ TERMINAL_HEARTBEAT_SECONDS: '1' });
    admin = await registerUser(server.api); // the first account is the admin
    owner = await registerUser(server.api);
    shell = await createRunningEnvironment(server.api, owner.accessToken, 'shared');
    other = await createRunningEnvironment(server.api, owner.accessToken, 'private');
    db = new pg.Client({ connectionString: server.databaseUrl });
    await db.connect();
  });

  afterEach(() => {
    closeAll(opened.splice(0));
  });

  afterAll(async () => {
    closeAll(opened.splice(0));
    await db?.end();
    await server?.close();
  });

  it('gives a read-only guest the live terminal and refuses its input, whatever it asks for', async () => {
    const link = await share('read');
    const { terminal, ack } = await guest(link.token, { readOnly: false });
    expect(ack).toMatchObject({ resume: 'new', seq: 0, readOnly: true });
    const mine = await ownerTerminal();
    mine.type('echo OWNER_$((6*7))\r');
    await terminal.waitFor(/OWNER_42/);

    terminal.type('echo GUEST_$((6*7))\r');
    await terminal.waitUntil(() => terminal.errors.length > 0, 'an error event');
    expect(terminal.errors[0].code).toBe('FORBIDDEN');
    mine.type('echo AFTER_$((1+1))\r');
    await mine.waitFor(/AFTER_2/);
    expect(mine.text).not.toMatch(/GUEST_/);
  });

  it('lets a write guest type into the shared shell', async () => {
    const link = await share('write');
    const { terminal, ack } = await guest(link.token);
    expect(ack).toMatchObject({ readOnly: false });
    const mine = await ownerTerminal();
    terminal.type('echo WRITER_$((6*7))\r');
    await mine.waitFor(/WRITER_42/);
  });

  it('keeps a guest to the shared environment, and refuses bad share tokens at connect', async () => {
    const link = await share('write');
    const { ack } = await guest(link.token, { environmentId: other.id });
    expect(ack).toEqual({ error: { code: 'ENVIRONMENT_NOT_FOUND', message: expect.any(String) } });
    await expect(SocketTerminal.connect(server.url, { shareToken: `${link.token.slice(0, -2)}xx` })).rejects.toThrow('UNAUTHORIZED');
    await expect(SocketTerminal.connect(server.url, { shareToken: owner.accessToken })).rejects.toThrow('UNAUTHORIZED');
    await expect(SocketTerminal.connect(server.url, { shareToken: 42 })).rejects.toThrow('UNAUTHORIZED');
  });

  it('ends a live guest terminal when the owner revokes its link, and refuses the link afterwards', async () => {
    const link = await share('write');
    const { terminal } = await guest(link.token);
    const untouched = await guest((await share('read')).token);
    await revoke(link.id);
    await terminal.waitUntil(() => terminal.exits.length > 0 && !terminal.connected, 'exit and disconnect');
    expect(terminal.exits).toEqual([{ reason: 'share_revoked' }]);
    await expect(SocketTerminal.connect(server.url, { shareToken: link.token })).rejects.toThrow('UNAUTHORIZED');
    // Another link's guest stays.
    await sleep(100);
    expect(untouched.terminal.connected).toBe(true);
  });

  it('ends a live guest terminal within a heartbeat when another replica revokes its link', async () => {
    const link = await share('write');
    const { terminal } = await guest(link.token);
    // What DELETE …/shares/:id writes on the replica that served it.
    await db.query('UPDATE share_links SET revoked_at = now() WHERE id = $1', [link.id]);
    await terminal.waitUntil(() => terminal.exits.length > 0, 'exit after the revocation', 5_000);
    expect(terminal.exits).toEqual([{ reason: 'share_revoked' }]);
  });

  it('ends a live guest terminal when its link expires, and refuses an expired link', async () => {
    const link = await share('read', 60);
    // The link runs out two seconds from now (the API's shortest lifetime is a minute).
    await db.query(`UPDATE share_links SET expires_at = now() + interval '2 seconds' WHERE id = $1`, [link.id]);
    const { terminal, ack } = await guest(link.token);
    expect(ack).toMatchObject({ readOnly: true });
    await terminal.waitUntil(() => terminal.exits.length > 0, 'exit at expiry', 10_000);
    expect(terminal.exits).toEqual([{ reason: 'share_expired' }]);
    await expect(SocketTerminal.connect(server.url, { shareToken: link.token })).rejects.toThrow('UNAUTHORIZED');
  });

  it('audits every use and lists guest sessions with their link', async () => {
    const link = await share('read');
    const { ack } = await guest(link.token);
    expect(ack).toMatchObject({ readOnly: true });
    const used = await request('GET', `${server.api}/audit-events?action=share.used&limit=100`, { token: admin.accessToken });
    expect(used.status).toBe(200);
    const event = used.body.items.find((item: { details: { shareId: string } }) => item.details.shareId === link.id);
    expect(event).toMatchObject({ action: 'share.used', actorId: null, targetType: 'environment', targetId: shell.id, details: { mode: 'read', transport: 'socket.io', sessionId: (ack as { sessionId: string }).sessionId } });
    expect(event.ip).toEqual(expect.any(String));

    const listed = await request('GET', `${server.api}/environments/${shell.id}/shares?limit=100`, { token: owner.accessToken });
    expect(listed.body.items.find((item: { id: string }) => item.id === link.id)).toMatchObject({ useCount: 1, lastUsedAt: expect.any(String) });
    const sessions = await request('GET', `${server.api}/environments/${shell.id}/terminal-sessions?limit=100`, { token: owner.accessToken });
    expect(sessions.body.items.find((item: { id: string }) => item.id === (ack as { sessionId: string }).sessionId)).toMatchObject({ shareId: link.id, readOnly: true, live: true });
  });

  it('lets a guest in over the plain WebSocket with ?shareToken=, read-only, but not into the logs', async () => {
    const link = await share('read');
    const terminal = await WsTerminal.connect(WsTerminal.address(server.url, shell.id, undefined, { shareToken: link.token }));
    opened.push(terminal);
    const welcome = await terminal.waitForFrame('welcome');
    expect(welcome.environment).toMatchObject({ id: shell.id });
    const mine = await ownerTerminal();
    mine.type('echo SEEN_BY_WS_$((6*7))\r');
    await terminal.waitFor(/SEEN_BY_WS_42/);
    terminal.type('echo NOPE\r');
    const error = await terminal.waitForFrame('error');
    expect(error.code).toBe('FORBIDDEN');

    expect(await WsTerminal.refusal(WsTerminal.address(server.url, shell.id, undefined, { shareToken: link.token }, 'logs'))).toMatchObject({ statusCode: 401 });
    expect(await WsTerminal.refusal(WsTerminal.address(server.url, other.id, undefined, { shareToken: link.token }))).toMatchObject({ statusCode: 404 });
    await revoke(link.id);
    expect(await WsTerminal.refusal(WsTerminal.address(server.url, shell.id, undefined, { shareToken: link.token }))).toMatchObject({
      statusCode: 401,
      body: { statusCode: 401, code: 'UNAUTHORIZED' },
    });
  });
});
