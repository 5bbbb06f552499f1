import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { createRunningEnvironment, registerUser, request, startTestServer, waitForStatus, type TestServer } from '../support/server.js';
import { SocketTerminal, closeAll, shellSize } from '../support/terminal-clients.js';

describe('Terminal over Socket.IO (/terminal)', () => {
  let server: TestServer;
  let alice: Awaited<ReturnType<typeof registerUser>>;
  let bob: Awaited<ReturnType<typeof registerUser>>;
  let shell: { id: string };
  const opened: SocketTerminal[] = [];

  /** Connects as `token` and attaches to `environmentId` at 80x24 (or `extra`); closed after the test. */
  async function attached(token: string, environmentId: string, extra: Record<string, unknown> = {}) {
    const result = await SocketTerminal.open(server.url, token, { environmentId, cols: 80, rows: 24, ...extra });
    opened.push(result.terminal);
    return result;
  }

  async function connected(token: string) {
    const terminal = await SocketTerminal.connect(server.url, { token });
    opened.push(terminal);
    return terminal;
  }

  beforeAll(async () => {
    server = await startTestServer();
    alice = await registerUser(server.api);
    bob = await registerUser(server.api);
    shell = await createRunningEnvironment(server.api, alice.accessToken, 'shell');
  });

  afterEach(() => {
    closeAll(opened.splice(0));
  });

  afterAll(async () => {
    closeAll(opened.splice(0));
    await server?.close();
  });

  describe('connecting', () => {
    it('refuses a handshake without a token with UNAUTHORIZED', async () => {
      await expect(SocketTerminal.connect(server.url, undefined)).rejects.toThrow('UNAUTHORIZED');
      await expect(SocketTerminal.connect(server.url, { token: '' })).rejects.toThrow('UNAUTHORIZED');
    });

    it('refuses a handshake with a bad token with UNAUTHORIZED', async () => {
      await expect(SocketTerminal.connect(server.url, { token: 'not-a-jwt' })).rejects.toThrow('UNAUTHORIZED');
      const [header, payload] = alice.accessToken.split('.');
      await expect(SocketTerminal.connect(server.url, { token: `${header}.${payload}.forgedsignature` })).rejects.toThrow('UNAUTHORIZED');
    });

    it('answers ping with pong carrying the server time', async () => {
      const terminal = await connected(alice.accessToken);
      const before = Date.now();
      terminal.socket.emit('ping', {});
      await terminal.waitUntil(() => terminal.pongs.length === 1, 'pong');
      const at = Date.parse(terminal.pongs[0].at);
      expect(terminal.pongs[0].at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/);
      expect(at).toBeGreaterThanOrEqual(before - 1000);
      expect(at).toBeLessThanOrEqual(Date.now() + 1000);
    });

    it('answers input sent before any attach with an error event', async () => {
      const terminal = await connected(alice.accessToken);
      terminal.type('echo NOT_ATTACHED_$((6*7))\r');
      await terminal.waitUntil(() => terminal.errors.length === 1, 'error event');
      expect(terminal.errors[0]).toEqual({ code: 'VALIDATION_FAILED', message: expect.stringMatching(/attach/i) });
      expect(terminal.raw).toBe('');
      expect(terminal.connected).toBe(true);
    });
  });

  describe('attaching', () => {
    it('acknowledges a first attach with a new session whose stream starts at 0', async () => {
      const { ack } = await attached(alice.accessToken, shell.id);
      expect(ack).toEqual({ sessionId: expect.stringMatching(/^[0-9a-f-]{36}$/), seq: 0, resume: 'new', readOnly: false });
    });

    it('refuses attach payloads that break the contract with VALIDATION_FAILED', async () => {
      const terminal = await connected(alice.accessToken);
      const refusals = [
        { environmentId: shell.id, rows: 24 },
        { environmentId: 'not-a-uuid', cols: 80, rows: 24 },
        { environmentId: shell.id, cols: 80, rows: 24, colour: 'green' },
        { environmentId: shell.id, cols: 0, rows: 24 },
        { environmentId: shell.id, cols: '80', rows: 24 },
      ];
      for (const payload of refusals) {
        expect(await terminal.attach(payload)).toEqual({ error: { code: 'VALIDATION_FAILED', message: expect.any(String) } });
      }
      // A refused attach leaves the socket usable.
      expect(await terminal.attach({ environmentId: shell.id, cols: 80, rows: 24 })).toMatchObject({ resume: 'new', seq: 0 });
    });

    it('starts a new session with a full redraw when the sessionId is unknown', async () => {
      const unknown = randomUUID();
      const { terminal, ack } = await attached(alice.accessToken, shell.id, { sessionId: unknown, lastSeq: 1234 });
      expect(ack).toEqual({ sessionId: expect.any(String), seq: 0, resume: 'redraw', readOnly: false });
      if ('sessionId' in ack) expect(ack.sessionId).not.toBe(unknown);
      terminal.type('echo REDRAWN_$((6*7))\r');
      await terminal.waitFor(/REDRAWN_42/);
      expect(terminal.seqViolations).toEqual([]);
    });

    it("refuses another user's environment on REST and on attach as not found", async () => {
      const rest = await request('GET', `${server.api}/environments/${shell.id}`, { token: bob.accessToken });
      expect(rest.status).toBe(404);
      expect(rest.body).toMatchObject({ statusCode: 404, code: 'ENVIRONMENT_NOT_FOUND' });
      const terminal = await connected(bob.accessToken);
      expect(await terminal.attach({ environmentId: shell.id, cols: 80, rows: 24 })).toEqual({
        error: { code: 'ENVIRONMENT_NOT_FOUND', message: expect.any(String) },
      });
      // Nothing of Alice's shell reaches Bob's socket.
      terminal.type('echo BOB_WAS_HERE_$((6*7))\r');
      await terminal.waitUntil(() => terminal.errors.length === 1, 'error event for input without a terminal');
      expect(terminal.raw).toBe('');
    });

    it('refuses an environment that does not exist as not found', async () => {
      const terminal = await connected(alice.accessToken);
      expect(await terminal.attach({ environmentId: randomUUID(), cols: 80, rows: 24 })).toEqual({
        error: { code: 'ENVIRONMENT_NOT_FOUND', message: expect.any(String) },
      });
    });

    it('refuses a second attach on the same socket', async () => {
      const { terminal } = await attached(alice.accessToken, shell.id);
      expect(await terminal.attach({ environmentId: shell.id, cols: 80, rows: 24 })).toEqual({ error: { code: 'VALIDATION_FAILED', message: expect.any(String) } });
    });
  });

  describe('the shell', () => {
    it("brings a command's output back, each chunk's seq counting the UTF-8 bytes sent", async () => {
      const { terminal } = await attached(alice.accessToken, shell.id);
      terminal.type('echo MARK_$((6*7)) "héllo wörld ✓"\r');
      await terminal.waitFor(/MARK_42 héllo wörld ✓/);
      expect(terminal.seqViolations).toEqual([]);
      expect(terminal.seq).toBe(Buffer.byteLength(terminal.raw, 'utf8'));
    });

    it('shows a resize in `stty size`', async () => {
      const { terminal } = await attached(alice.accessToken, shell.id);
      await shellSize(terminal, 24, 80);
      terminal.resize(132, 43);
      const seen = await shellSize(terminal, 43, 132);
      expect(seen.filter((size) => size !== '24x80')).toEqual(['43x132']);
      expect(terminal.errors).toEqual([]);
    });

    it('lets a second socket on the same environment see and type into the same shell', async () => {
      const first = (await attached(alice.accessToken, shell.id)).terminal;
      const second = (await attached(alice.accessToken, shell.id)).terminal;
      first.type('echo FROM_FIRST_$((6*7))\r');
      await second.waitFor(/FROM_FIRST_42/);
      second.type('SHARED=from-second; echo FROM_SECOND_$((7*7))\r');
      await first.waitFor(/FROM_SECOND_49/);
      // One shell: a variable set through one socket is there for the other.
      first.type('echo SHARED_IS_$SHARED\r');
      await second.waitFor(/SHARED_IS_from-second/);
      expect(first.seqViolations).toEqual([]);
      expect(second.seqViolations).toEqual([]);
    });

    it('keeps the shell and its state when the socket closes and a new one attaches', async () => {
      const before = await attached(alice.accessToken, shell.id);
      before.terminal.type('export FOO=kept; cd /tmp; echo EXPORTED_$((6*7))\r');
      await before.terminal.waitFor(/EXPORTED_42/);
      before.terminal.close();
      await before.terminal.waitUntil(() => before.terminal.disconnectReason !== undefined, 'disconnect');

      const after = await attached(alice.accessToken, shell.id);
      expect(after.ack.resume).toBe('new');
      expect(after.ack.sessionId).not.toBe(before.ack.sessionId);
      after.terminal.type('echo FOO_IS_$FOO IN_$PWD\r');
      await after.terminal.waitFor(/FOO_IS_kept IN_\/tmp/);
      expect(after.terminal.seqViolations).toEqual([]);
    });

    it('refuses input on a read-only attach, and the shell never receives it', async () => {
      const writer = (await attached(alice.accessToken, shell.id)).terminal;
      const viewer = await attached(alice.accessToken, shell.id, { readOnly: true });
      expect(viewer.ack).toEqual({ sessionId: expect.any(String), seq: 0, resume: 'new', readOnly: true });

      viewer.terminal.type('echo READONLY_LEAK_$((6*7))\r');
      await viewer.terminal.waitUntil(() => viewer.terminal.errors.length === 1, 'error event');
      expect(viewer.terminal.errors[0]).toEqual({ code: 'FORBIDDEN', message: expect.any(String) });

      // The viewer still watches the shell: what the writer types shows up on it.
      writer.type('echo VISIBLE_TO_VIEWER_$((6*7))\r');
      await viewer.terminal.waitFor(/VISIBLE_TO_VIEWER_42/);
      await writer.waitFor(/VISIBLE_TO_VIEWER_42/);
      expect(writer.text).not.toContain('READONLY_LEAK');
      expect(viewer.terminal.text).not.toContain('READONLY_LEAK');
    });
  });

  describe('when the environment is stopped', () => {
    let doomed: { id: string };

    beforeAll(async () => {
      doomed = await createRunningEnvironment(server.api, alice.accessToken, 'doomed');
    });

    it('tells attached clients the new status, then exit environment_stopped, and disconnects them', async () => {
      const { terminal } = await attached(alice.accessToken, doomed.id);
      terminal.type('echo ALIVE_$((6*7))\r');
      await terminal.waitFor(/ALIVE_42/);

      const stop = await request('POST', `${server.api}/environments/${doomed.id}/stop`, { token: alice.accessToken });
      expect(stop.status).toBe(202);
      await terminal.waitUntil(() => terminal.disconnectReason !== undefined, 'disconnect after stop');
      expect(terminal.statuses).toContain('stopping');
      expect(terminal.exits).toEqual([{ reason: 'environment_stopped' }]);
      expect(terminal.disconnectReason).toBe('io server disconnect');
    });

    it('refuses to attach to a stopped environment with ENVIRONMENT_NOT_RUNNING', async () => {
      await waitForStatus(server.api, alice.accessToken, doomed.id, 'stopped');
      const terminal = await connected(alice.accessToken);
      expect(await terminal.attach({ environmentId: doomed.id, cols: 80, rows: 24 })).toEqual({
        error: { code: 'ENVIRONMENT_NOT_RUNNING', message: expect.any(String) },
      });
    });
  });
});
