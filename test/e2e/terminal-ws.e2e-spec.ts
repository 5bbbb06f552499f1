import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { createRunningEnvironment, registerUser, request, startTestServer, waitForStatus, type TestServer } from '../support/server.js';
import { SocketTerminal, WsTerminal, closeAll, shellSize } from '../support/terminal-clients.js';

describe('Terminal over plain WebSocket (/api/v1/ws/terminal/{id})', () => {
  let server: TestServer;
  let alice: Awaited<ReturnType<typeof registerUser>>;
  let bob: Awaited<ReturnType<typeof registerUser>>;
  let shell: { id: string; name: string };
  const opened: Array<WsTerminal | SocketTerminal> = [];

  /** Opens a WebSocket terminal on `environmentId` as `token` and waits for its welcome frame. */
  async function connected(environmentId: string, token = alice.accessToken, extra: Record<string, string> = {}): Promise<WsTerminal> {
    const terminal = await WsTerminal.connect(WsTerminal.address(server.url, environmentId, token, extra));
    opened.push(terminal);
    await terminal.waitForFrame('welcome');
    return terminal;
  }

  beforeAll(async () => {
    server = await startTestServer();
    alice = await registerUser(server.api);
    bob = await registerUser(server.api);
    shell = await createRunningEnvironment(server.api, alice.accessToken, 'ws-shell');
  });

  afterEach(() => {
    closeAll(opened.splice(0));
  });

  afterAll(async () => {
    closeAll(opened.splice(0));
    await server?.close();
  });

  describe('the upgrade', () => {
    it('is refused with 401 without a token or with a bad one', async () => {
      for (const token of [undefined, '', 'not-a-jwt', `${alice.accessToken}x`]) {
        const refusal = await WsTerminal.refusal(WsTerminal.address(server.url, shell.id, token));
        expect(refusal).toEqual({ statusCode: 401, body: { statusCode: 401, code: 'UNAUTHORIZED', message: expect.any(String) } });
      }
    });

    it("is refused with 404 for another user's environment, on REST as on the WebSocket", async () => {
      const rest = await request('GET', `${server.api}/environments/${shell.id}`, { token: bob.accessToken });
      expect(rest.status).toBe(404);
      const refusal = await WsTerminal.refusal(WsTerminal.address(server.url, shell.id, bob.accessToken));
      expect(refusal).toEqual({ statusCode: 404, body: { statusCode: 404, code: 'ENVIRONMENT_NOT_FOUND', message: expect.any(String) } });
    });

    it('is refused with 404 for an environment that does not exist', async () => {
      const refusal = await WsTerminal.refusal(WsTerminal.address(server.url, randomUUID(), alice.accessToken));
      expect(refusal).toMatchObject({ statusCode: 404, body: { code: 'ENVIRONMENT_NOT_FOUND' } });
    });

    it('is refused with 400 for an environment id that is not a UUID', async () => {
      const refusal = await WsTerminal.refusal(WsTerminal.address(server.url, 'not-a-uuid', alice.accessToken));
      expect(refusal).toMatchObject({ statusCode: 400, body: { statusCode: 400, code: expect.any(String) } });
    });
  });

  describe('an open terminal', () => {
    it('sends welcome with the environment as its first frame', async () => {
      const terminal = await connected(shell.id);
      expect(terminal.frames[0]).toEqual({
        type: 'welcome',
        environment: expect.objectContaining({ id: shell.id, name: 'ws-shell', status: 'running', runtime: 'local' }),
      });
    });

    it("applies input typed right after welcome and brings the command's output back", async () => {
      const terminal = await connected(shell.id);
      terminal.type('echo WS_MARK_$((6*7))\r');
      await terminal.waitFor(/WS_MARK_42/);
      expect(terminal.frames.filter((frame) => frame.type === 'error')).toEqual([]);
    });

    it('shows a resize in `stty size`', async () => {
      const terminal = await connected(shell.id);
      await shellSize(terminal, 24, 80);
      terminal.resize(100, 30);
      const seen = await shellSize(terminal, 30, 100);
      expect(seen.filter((size) => size !== '24x80')).toEqual(['30x100']);
      expect(terminal.frames.filter((frame) => frame.type === 'error')).toEqual([]);
    });

    it('answers ping with pong', async () => {
      const terminal = await connected(shell.id);
      const from = terminal.frames.length;
      terminal.send({ type: 'ping' });
      expect(await terminal.waitForFrame('pong', from)).toEqual({ type: 'pong' });
    });

    it('answers malformed frames with an error frame and stays usable', async () => {
      const terminal = await connected(shell.id);
      const malformed: Array<string | Buffer> = [
        'this is not json',
        JSON.stringify({ type: 'teleport' }),
        JSON.stringify({ type: 'input' }),
        JSON.stringify({ type: 'input', data: 42 }),
        JSON.stringify({ type: 'resize', cols: -1, rows: 24 }),
        JSON.stringify([1, 2, 3]),
        Buffer.from('binary'),
      ];
      for (const frame of malformed) {
        const from = terminal.frames.length;
        terminal.ws.send(frame);
        expect(await terminal.waitForFrame('error', from)).toEqual({ type: 'error', code: expect.any(String), message: expect.any(String) });
      }
      terminal.type('echo STILL_USABLE_$((6*7))\r');
      await terminal.waitFor(/STILL_USABLE_42/);
      expect(terminal.closed).toBeUndefined();
    });

    it('shares the tmux session with Socket.IO clients, both ways', async () => {
      const ws = await connected(shell.id);
      const { terminal: socket } = await SocketTerminal.open(server.url, alice.accessToken, { environmentId: shell.id, cols: 80, rows: 24 });
      opened.push(socket);
      ws.type('WS_VAR=typed-in-ws; echo FROM_WS_$((6*7))\r');
      await socket.waitFor(/FROM_WS_42/);
      socket.type('echo FROM_SOCKETIO_$((7*7)) $WS_VAR\r');
      await ws.waitFor(/FROM_SOCKETIO_49 typed-in-ws/);
      expect(socket.seqViolations).toEqual([]);
    });

    it('keeps the shell when the WebSocket closes', async () => {
      const before = await connected(shell.id);
      before.type('export WS_KEPT=yes; echo SET_$((6*7))\r');
      await before.waitFor(/SET_42/);
      before.close();
      await before.waitForClose();
      const after = await connected(shell.id);
      after.type('echo WS_KEPT_IS_$WS_KEPT\r');
      await after.waitFor(/WS_KEPT_IS_yes/);
    });
  });

  describe('an environment that is not running', () => {
    let other: { id: string };

    beforeAll(async () => {
      other = await createRunningEnvironment(server.api, alice.accessToken, 'ws-stopping');
    });

    it('tells an open terminal the new status and closes it when the environment stops', async () => {
      const terminal = await connected(other.id);
      terminal.type('echo UP_$((6*7))\r');
      await terminal.waitFor(/UP_42/);
      expect((await request('POST', `${server.api}/environments/${other.id}/stop`, { token: alice.accessToken })).status).toBe(202);
      await terminal.waitForClose();
      expect(terminal.frames).toContainEqual({ type: 'status_update', status: 'stopping' });
    });

    it('gets welcome, then an ENVIRONMENT_NOT_RUNNING error frame, then a close', async () => {
      await waitForStatus(server.api, alice.accessToken, other.id, 'stopped');
      const terminal = await connected(other.id);
      await terminal.waitForClose();
      expect(terminal.frames).toEqual([
        { type: 'welcome', environment: expect.objectContaining({ id: other.id, status: 'stopped' }) },
        { type: 'error', code: 'ENVIRONMENT_NOT_RUNNING', message: expect.any(String) },
      ]);
    });
  });
});
