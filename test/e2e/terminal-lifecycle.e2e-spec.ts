import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import WebSocket from 'ws';
import { TerminalService } from '../../apps/api/src/terminal/terminal.service.js';
import { createRunningEnvironment, registerUser, startTestServer, type TestServer } from '../support/server.js';
import { SocketTerminal, WsTerminal, closeAll } from '../support/terminal-clients.js';

import { setTimeout as sleep } from 'node:timers/promises';

/**
 * A Socket.IO client written out by hand over a raw WebSocket (Engine.IO v4 and Socket.IO v5
 * packets), so that it can do what socket.io-client never does: stop answering the server's
 * heartbeat pings while its TCP connection stays open, as a phone that lost coverage does.
 */
class SilentSocketIoClient {
  private readonly packets: string[] = [];
  private readonly waiting = new Set<() => void>();
  closed = false;

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data) => {
      this.packets.push(data.toString());
      for (const wake of [...this.waiting]) wake();
    });
    ws.on('close', () => {
      this.closed = true;
      for (const wake of [...this.waiting]) wake();
    });
  }

  /** Opens the Engine.IO WebSocket and connects to `/terminal` with `token` (it answers no ping). */
  static async connect(url: string, token: string): Promise<SilentSocketIoClient> {
    const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/socket.io/?EIO=4&transport=websocket`);
    const client = new SilentSocketIoClient(ws);
    await client.next((packet) => packet.startsWith('0{'));
    ws.send(`40/terminal,${JSON.stringify({ token })}`);
    await client.next((packet) => packet.startsWith('40/terminal,'));
    return client;
  }

  /** Sends `attach` as event 1 and resolves with its ack payload. */
  async attach(payload: Record<string, unknown>): Promise<{ sessionId: string; seq: number; resume: string }> {
    this.ws.send(`42/terminal,1${JSON.stringify(['attach', payload])}`);
    const ack = await this.next((packet) => packet.startsWith('43/terminal,1'));
    return (JSON.parse(ack.slice('43/terminal,1'.length)) as [{ sessionId: string; seq: number; resume: string }])[0];
  }

  /** Resolves once the server has closed the connection; rejects after `timeoutMs`. */
  waitClosed(timeoutMs: number): Promise<void> {
    return this.until(() => this.closed, timeoutMs, 'the server did not drop the silent client').then(() => undefined);
  }

  close(): void {
    this.ws.terminate();
  }

  private async next(match: (packet: string) => boolean, timeoutMs = 10_000): Promise<string> {
    let found: string | undefined;
    await this.until(
      () => {
        const index = this.packets.findIndex(match);
        if (index >= 0) found = this.packets.splice(index, 1)[0];
        return found !== undefined;
      },
      timeoutMs,
      'no expected Socket.IO packet',
    );
    return found!;
  }

  private until(check: () => boolean, timeoutMs: number, what: string): Promise<true> {
    return new Promise((resolveWait, rejectWait) => {
      if (check()) return resolveWait(true);
      const wake = () => {
        if (!check()) return;
        clearTimeout(timer);
        this.waiting.delete(wake);
        resolveWait(true);
      };
      const timer = setTimeout(() => {
        this.waiting.delete(wake);
        rejectWait(new Error(`${what} within ${timeoutMs} ms; received ${JSON.stringify(this.packets.slice(-5))}`));
      }, timeoutMs);
      this.waiting.add(wake);
    });
  }
}

describe('Terminal heartbeats and kept sessions', () => {
  const HEARTBEAT_SECONDS = 1;
  let server: TestServer;
  let alice: Awaited<ReturnType<typeof registerUser>>;
  let shell: { id: string };
  const opened: Array<{ close(): void }> = [];

  beforeAll(async () => {
    server = await startTestServer({ TERMINAL_HEARTBEAT_SECONDS: String(HEARTBEAT_SECONDS), TERMINAL_MAX_KEPT_SESSIONS_PER_USER: '2' });
    alice = await registerUser(server.api);
    shell = await createRunningEnvironment(server.api, alice.accessToken, 'heartbeat');
  });

  afterEach(() => {
    closeAll(opened.splice(0));
  });

  afterAll(async () => {
    closeAll(opened.splice(0));
    await server?.close();
  });

  it('drops a plain WebSocket that stops answering pings, and keeps one that answers', async () => {
    const address = WsTerminal.address(server.url, shell.id, alice.accessToken);
    const answering = await WsTerminal.connect(address);
    opened.push(answering);
    const silent = new WebSocket(address, { autoPong: false });
    opened.push({ close: () => silent.terminate() });
    const silentClosed = new Promise<number>((resolveClose) => silent.on('close', (code) => resolveClose(code)));
    let pings = 0;
    silent.on('ping', () => (pings += 1));
    await answering.waitForFrame('welcome');

    // Dropped by the second heartbeat after its first unanswered ping: 1006, no close frame.
    expect(await silentClosed).toBe(1006);
    expect(pings).toBeGreaterThanOrEqual(1);
    // The answering one outlived it by another heartbeat and still works.
    await sleep(HEARTBEAT_SECONDS * 1500);
    expect(answering.closed).toBeUndefined();
    answering.type('echo STILL_$((40+2))\r');
    await answering.waitFor(/STILL_42/);
  });

  it('drops a Socket.IO client that stops answering heartbeats, keeping its session for a resume', async () => {
    const silent = await SilentSocketIoClient.connect(server.url, alice.accessToken);
    opened.push(silent);
    const ack = await silent.attach({ environmentId: shell.id, cols: 80, rows: 24 });
    expect(ack.resume).toBe('new');
    const answering = await SocketTerminal.open(server.url, alice.accessToken, { environmentId: shell.id, cols: 80, rows: 24 });
    opened.push(answering.terminal);

    // pingInterval + pingTimeout: two heartbeats without a pong.
    await silent.waitClosed(HEARTBEAT_SECONDS * 4000);
    const terminals = server.server.app.get(TerminalService);
    expect(terminals.find(ack.sessionId)?.kept).toBe(true);
    expect(answering.terminal.connected).toBe(true);

    const resumed = await SocketTerminal.open(server.url, alice.accessToken, { environmentId: shell.id, cols: 80, rows: 24, sessionId: ack.sessionId, lastSeq: 0 });
    opened.push(resumed.terminal);
    expect(resumed.ack).toMatchObject({ sessionId: ack.sessionId, resume: 'replay', seq: 0 });
  });

  it('keeps at most the configured number of detached sessions per user, ending the one detached longest ago', async () => {
    const terminals = server.server.app.get(TerminalService);
    const sessions: Array<{ id: string; seq: number }> = [];
    for (let i = 0; i < 3; i += 1) {
      const { terminal, ack } = await SocketTerminal.open(server.url, alice.accessToken, { environmentId: shell.id, cols: 80, rows: 24 });
      terminal.type(`echo KEPT_${i}_$((1+1))\r`);
      await terminal.waitFor(new RegExp(`KEPT_${i}_2`));
      sessions.push({ id: ack.sessionId, seq: terminal.seq });
      terminal.close();
      // The server has seen the socket go once the session waits for a resume.
      while (!terminals.find(ack.sessionId)?.kept) await sleep(10);
      await sleep(5);
    }
    expect(terminals.find(sessions[0].id)).toBeUndefined();
    expect(terminals.find(sessions[1].id)?.kept).toBe(true);
    expect(terminals.find(sessions[2].id)?.kept).toBe(true);

    const oldest = await SocketTerminal.open(server.url, alice.accessToken, { environmentId: shell.id, cols: 80, rows: 24, sessionId: sessions[0].id, lastSeq: sessions[0].seq });
    opened.push(oldest.terminal);
    expect(oldest.ack.resume).toBe('redraw');
    const newest = await SocketTerminal.open(server.url, alice.accessToken, { environmentId: shell.id, cols: 80, rows: 24, sessionId: sessions[2].id, lastSeq: sessions[2].seq });
    opened.push(newest.terminal);
    expect(newest.ack).toMatchObject({ sessionId: sessions[2].id, resume: 'replay' });
  });
});
