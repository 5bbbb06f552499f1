import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { TerminalService } from '../../apps/api/src/terminal/terminal.service.js';
import { createRunningEnvironment, registerUser, startTestServer, type TestServer } from '../support/server.js';
import { SocketTerminal, WsTerminal, closeAll } from '../support/terminal-clients.js';

import { setTimeout as sleep } from 'node:timers/promises';
import { quiet } from '../support/waiting.js';

/** Closes `terminal` and waits until the client saw its socket go. */
async function drop(terminal: SocketTerminal): Promise<void> {
  terminal.close();
  await terminal.waitUntil(() => terminal.disconnectReason !== undefined, 'disconnect');
}

describe('Terminal resume and flow control (Socket.IO)', () => {
  let server: TestServer;
  let alice: Awaited<ReturnType<typeof registerUser>>;
  let bob: Awaited<ReturnType<typeof registerUser>>;
  let shell: { id: string };
  const opened: Array<{ close(): void }> = [];

  async function attached(token: string, environmentId: string, extra: Record<string, unknown> = {}, on = server) {
    const result = await SocketTerminal.open(on.url, token, { environmentId, cols: 80, rows: 24, ...extra });
    opened.push(result.terminal);
    return result;
  }

  beforeAll(async () => {
    server = await startTestServer();
    alice = await registerUser(server.api);
    bob = await registerUser(server.api);
    shell = await createRunningEnvironment(server.api, alice.accessToken, 'resume');
  });

  afterEach(() => {
    closeAll(opened.splice(0));
  });

  afterAll(async () => {
    closeAll(opened.splice(0));
    await server?.close();
  });

  it('replays exactly the bytes missed while disconnected in the middle of output', async () => {
    const first = await attached(alice.accessToken, shell.id);
    first.terminal.type('for i in $(seq 1 3000); do echo LINE_$i; [ $((i % 100)) = 0 ] && sleep 0.05; done; echo DONE_$((6*7))\r');
    await first.terminal.waitFor(/LINE_500\n/);
    await drop(first.terminal);
    const lastSeq = first.terminal.seq;
    expect(first.terminal.text).not.toMatch(/DONE_42/);
    await sleep(300);

    const second = await attached(alice.accessToken, shell.id, { sessionId: first.ack.sessionId, lastSeq });
    expect(second.ack).toEqual({ sessionId: first.ack.sessionId, seq: lastSeq, resume: 'replay', readOnly: false });
    await second.terminal.waitFor(/DONE_42/, 20_000);
    expect(first.terminal.seqViolations).toEqual([]);
    expect(second.terminal.seqViolations).toEqual([]);
    // No gap, no overlap: the bytes of both sockets add up to the session's count.
    expect(Buffer.byteLength(first.terminal.raw, 'utf8') + Buffer.byteLength(second.terminal.raw, 'utf8')).toBe(second.terminal.seq);
    // tmux paints only what a screen needs (it may skip lines of fast output), but the end is there.
    const numbers = [...(first.terminal.text + second.terminal.text).matchAll(/LINE_(\d+)\n/g)].map((match) => Number(match[1]));
    expect(numbers.at(-1)).toBe(3000);
    expect(second.terminal.raw.length).toBeGreaterThan(0);
  });

  it('applies a resent input once across a resume', async () => {
    const first = await attached(alice.accessToken, shell.id);
    first.terminal.socket.emit('input', { data: 'N=0\r', seq: 4 });
    // Counted by the shell itself, so a repaint of the screen cannot fake a second run.
    first.terminal.socket.emit('input', { data: 'N=$((N+1)); echo X_$((1+1))\r', seq: 5 });
    await first.terminal.waitFor(/X_2/);
    await quiet(() => first.terminal.seq, 'the terminal');
    await drop(first.terminal);

    const second = await attached(alice.accessToken, shell.id, { sessionId: first.ack.sessionId, lastSeq: first.terminal.seq });
    expect(second.ack.resume).toBe('replay');
    second.terminal.socket.emit('input', { data: 'N=$((N+1)); echo X_$((1+1))\r', seq: 5 });
    second.terminal.socket.emit('input', { data: 'echo RAN_${N}_TIMES\r', seq: 6 });
    const ran = await second.terminal.waitFor(/RAN_(\d+)_TIMES/);
    expect(ran[1]).toBe('1');
    expect(second.terminal.seqViolations).toEqual([]);
  });

  it('lets a second socket take a held session over: the first gets exit taken_over', async () => {
    const first = await attached(alice.accessToken, shell.id);
    first.terminal.type('echo HELD_$((6*7))\r');
    await first.terminal.waitFor(/HELD_42/);
    await quiet(() => first.terminal.seq, 'the terminal');

    const second = await attached(alice.accessToken, shell.id, { sessionId: first.ack.sessionId, lastSeq: first.terminal.seq });
    expect(second.ack).toEqual({ sessionId: first.ack.sessionId, seq: first.terminal.seq, resume: 'replay', readOnly: false });
    await first.terminal.waitUntil(() => first.terminal.disconnectReason !== undefined, 'disconnect of the first socket');
    expect(first.terminal.exits).toEqual([{ reason: 'taken_over' }]);
    expect(first.terminal.disconnectReason).toBe('io server disconnect');
    // The first socket's disconnect does not release the session from the second.
    await sleep(100);
    second.terminal.type('echo TAKEN_$((6*7))\r');
    await second.terminal.waitFor(/TAKEN_42/);
    expect(second.terminal.seqViolations).toEqual([]);
    expect(server.server.app.get(TerminalService).find(first.ack.sessionId)?.isEnded).toBe(false);
  });

  it('redraws for an unknown session, a lastSeq ahead of the session, or another user’s session', async () => {
    const unknown = await attached(alice.accessToken, shell.id, { sessionId: randomUUID(), lastSeq: 10 });
    expect(unknown.ack).toMatchObject({ seq: 0, resume: 'redraw' });

    const kept = await attached(alice.accessToken, shell.id);
    kept.terminal.type('echo KEPT_$((6*7))\r');
    await kept.terminal.waitFor(/KEPT_42/);
    await quiet(() => kept.terminal.seq, 'the terminal');
    await drop(kept.terminal);
    const ahead = await attached(alice.accessToken, shell.id, { sessionId: kept.ack.sessionId, lastSeq: kept.terminal.seq + 1000 });
    expect(ahead.ack).toMatchObject({ seq: 0, resume: 'redraw' });
    expect(ahead.ack.sessionId).not.toBe(kept.ack.sessionId);
    ahead.terminal.type('echo REDRAWN_$((6*7))\r');
    await ahead.terminal.waitFor(/REDRAWN_42/);

    const bobs = await createRunningEnvironment(server.api, bob.accessToken, 'bobs');
    const stolen = await attached(bob.accessToken, bobs.id, { sessionId: kept.ack.sessionId, lastSeq: 0 });
    expect(stolen.ack).toMatchObject({ seq: 0, resume: 'redraw' });
    expect(stolen.ack.sessionId).not.toBe(kept.ack.sessionId);
  });

  it('pauses a client that does not acknowledge, and flows again on ack; Ctrl-C still works', async () => {
    const { terminal, ack } = await attached(alice.accessToken, shell.id);
    const session = server.server.app.get(TerminalService).find(ack.sessionId)!;
    terminal.type('yes\r');
    await terminal.waitUntil(() => terminal.seq > 1024 * 1024, 'a megabyte of output', 20_000);
    await quiet(() => terminal.seq, 'the terminal', 500);
    expect(session.isPaused).toBe(true);
    // High water (1 MiB) plus about one frame, and what the PTY had already read.
    expect(terminal.seq).toBeLessThanOrEqual(1024 * 1024 + 256 * 1024);
    expect(session.unacknowledged).toBe(terminal.seq);

    // Input is never held back by output: Ctrl-C reaches the shell while output is paused.
    const pausedAt = terminal.seq;
    terminal.type('\x03');
    await sleep(300);
    terminal.socket.on('output', (payload: { seq: number }) => terminal.socket.emit('ack', { seq: payload.seq }));
    terminal.socket.emit('ack', { seq: terminal.seq });
    terminal.type('echo INTERRUPTED_$((6*7))\r');
    await terminal.waitFor(/INTERRUPTED_42/, 15_000);
    expect(terminal.seq).toBeGreaterThan(pausedAt);
    await quiet(() => terminal.seq, 'the terminal');
    expect(session.isPaused).toBe(false);
    expect(session.unacknowledged).toBe(0);
    expect(terminal.seqViolations).toEqual([]);
  }, 60_000);

  it('never pauses a plain WebSocket terminal (it has no acks)', async () => {
    const terminals = server.server.app.get(TerminalService);
    const ws = await WsTerminal.connect(WsTerminal.address(server.url, shell.id, alice.accessToken));
    opened.push(ws);
    await ws.waitForFrame('welcome');
    ws.type('yes | head -c 60000000; echo WS_DONE_$((6*7))\r');
    let pausedSeen = false;
    const watch = setInterval(() => {
      if (terminals.list(shell.id).some((session) => session.transport === 'websocket' && session.isPaused)) pausedSeen = true;
    }, 20);
    try {
      await ws.waitFor(/WS_DONE_42/, 60_000);
    } finally {
      clearInterval(watch);
    }
    expect(pausedSeen).toBe(false);
  }, 90_000);
});

describe('Terminal resume with a 1 s grace period and 4 KiB kept', () => {
  let server: TestServer;
  const opened: SocketTerminal[] = [];

  beforeAll(async () => {
    server = await startTestServer({ TERMINAL_RESUME_SECONDS: '1', TERMINAL_REPLAY_BYTES: '4096' });
  });

  afterAll(async () => {
    closeAll(opened.splice(0));
    await server?.close();
  });

  it('redraws when the gap is older than the kept output', async () => {
    const alice = await registerUser(server.api);
    const shell = await createRunningEnvironment(server.api, alice.accessToken, 'small');
    const first = await SocketTerminal.open(server.url, alice.accessToken, { environmentId: shell.id, cols: 80, rows: 24 });
    opened.push(first.terminal);
    first.terminal.type('echo START_$((6*7))\r');
    await first.terminal.waitFor(/START_42/);
    await quiet(() => first.terminal.seq, 'the terminal');
    first.terminal.type('for i in $(seq 1 100); do echo LONG_${i}_0123456789012345678901234567890123456789012345678901234567; sleep 0.005; done\r');
    await first.terminal.waitFor(/LONG_3_/);
    await drop(first.terminal);
    const lastSeq = first.terminal.seq;
    await sleep(700);
    const kept = server.server.app.get(TerminalService).find(first.ack.sessionId);
    expect(kept?.seq).toBeGreaterThan(lastSeq + 4096);
    const again = await SocketTerminal.open(server.url, alice.accessToken, { environmentId: shell.id, cols: 80, rows: 24, sessionId: first.ack.sessionId, lastSeq });
    opened.push(again.terminal);
    expect(again.ack).toMatchObject({ seq: 0, resume: 'redraw' });
    expect(again.ack.sessionId).not.toBe(first.ack.sessionId);
  });

  it('ends a detached session after the grace period: reattaching redraws', async () => {
    const alice = await registerUser(server.api);
    const shell = await createRunningEnvironment(server.api, alice.accessToken, 'grace');
    const first = await SocketTerminal.open(server.url, alice.accessToken, { environmentId: shell.id, cols: 80, rows: 24 });
    opened.push(first.terminal);
    first.terminal.type('echo GRACE_$((6*7))\r');
    await first.terminal.waitFor(/GRACE_42/);
    await quiet(() => first.terminal.seq, 'the terminal');
    await drop(first.terminal);
    const terminals = server.server.app.get(TerminalService);
    expect(terminals.find(first.ack.sessionId)?.isEnded).toBe(false);
    await sleep(2000);
    expect(terminals.find(first.ack.sessionId)).toBeUndefined();

    const second = await SocketTerminal.open(server.url, alice.accessToken, { environmentId: shell.id, cols: 80, rows: 24, sessionId: first.ack.sessionId, lastSeq: first.terminal.seq });
    opened.push(second.terminal);
    expect(second.ack).toMatchObject({ seq: 0, resume: 'redraw' });
    expect(second.ack.sessionId).not.toBe(first.ack.sessionId);
    second.terminal.type('echo AFTER_GRACE_$((6*7))\r');
    await second.terminal.waitFor(/AFTER_GRACE_42/);
  });
});
