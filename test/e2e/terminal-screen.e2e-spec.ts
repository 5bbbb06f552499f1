import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type WebSocket from 'ws';
import { TerminalService, type TerminalSession } from '../../apps/api/src/terminal/terminal.service.js';
import { createRunningEnvironment, registerUser, startTestServer, type TestServer } from '../support/server.js';
import { SocketTerminal, closeAll, visibleText, type AttachAck, type AttachPayload } from '../support/terminal-clients.js';
import { capturePane, renderScreen } from '../support/xterm-screen.js';

/** The size of every terminal here: the tmux window takes it, so capture-pane has these rows. */
const COLS = 100;
const ROWS = 30;
/**
 * The end of an output as a person reads it: `marker`, then the prompt (`$ ` or `# ` for root).
 * What lies between depends on how tmux painted it (a newline, or cursor moves).
 */
const finished = (marker: string) => new RegExp(`${marker}[\\s\\S]*[$#] $`);
/** TERMINAL_TEST_LOG=1 prints the byte counts of each resume and the rendered screens. */
const LOG = process.env.TERMINAL_TEST_LOG === '1';

import { quiet, until } from '../support/waiting.js';

/**
 * Everything one socket received, chunk by chunk, acknowledged as it arrives (a client that
 * keeps up). `tail` is the end of the stream as a person reads it, cheap to match however
 * large the stream grows.
 */
class Received {
  readonly chunks: string[] = [];
  bytes = 0;
  private tailRaw = '';

  constructor(readonly terminal: SocketTerminal) {
    terminal.socket.on('output', (payload: { data: string; seq: number }) => {
      this.chunks.push(payload.data);
      this.bytes += Buffer.byteLength(payload.data, 'utf8');
      this.tailRaw = (this.tailRaw + payload.data).slice(-8192);
      terminal.socket.emit('ack', { seq: payload.seq });
    });
  }

  get tail(): string {
    return visibleText(this.tailRaw);
  }

  /** Waits until the end of the visible stream matches `pattern`. */
  waitForTail(pattern: RegExp, timeoutMs = 30_000): Promise<true> {
    return this.terminal.waitUntil(() => pattern.test(this.tail), `${pattern} at the end of the stream (it ends with ${JSON.stringify(this.tail.slice(-200))})`, timeoutMs);
  }
}

/**
 * Cuts the connection the way a phone losing its network does: the WebSocket under Socket.IO is
 * destroyed without a close handshake, so the server sees the transport drop, not a detach.
 */
async function cut(terminal: SocketTerminal): Promise<void> {
  const transport = terminal.socket.io.engine.transport as unknown as { ws: WebSocket };
  transport.ws.terminate();
  await terminal.waitUntil(() => terminal.disconnectReason !== undefined, 'disconnect after the cut');
}

/** Whether tmux's pane shows a row `marker` and, on the cursor's row, the prompt: the shell is idle. */
async function paneFinished(server: TestServer, environmentId: string, marker: string): Promise<boolean> {
  const pane = await capturePane(server, environmentId);
  return pane.rows.includes(marker) && /[$#]$/.test(pane.rows[pane.cursor.y]);
}

/**
 * Feeds `chunks` (in order) to an xterm of the terminal's size and compares what it shows,
 * row by row and the cursor, with tmux's own idea of the pane (`capture-pane`).
 */
async function expectScreenOfPane(server: TestServer, environmentId: string, chunks: string[]): Promise<void> {
  const pane = await capturePane(server, environmentId);
  expect({ width: pane.width, height: pane.height }).toEqual({ width: COLS, height: ROWS });
  const rendered = await renderScreen(chunks, COLS, ROWS);
  if (LOG) console.log(rendered.rows.join('\n'));
  expect(rendered.rows).toEqual(pane.rows);
  expect(rendered.cursor).toEqual(pane.cursor);
}

/** One attached socket, recorded from before its attach. */
interface Attached {
  terminal: SocketTerminal;
  received: Received;
  ack: Extract<AttachAck, { sessionId: string }>;
}

/** A test server of its own (one per describe, started and closed around it), one user, one running environment. */
interface ScreenSuite {
  server: TestServer;
  shell: { id: string };
  /**
   * Connects and attaches at COLS x ROWS with `payload`, recording from before the attach: a
   * replay follows the ack in the same network read, so a listener added later would miss it.
   */
  attach(payload?: Omit<AttachPayload, 'environmentId' | 'cols' | 'rows'>): Promise<Attached>;
  /** The session the server keeps under `id`. */
  session(id: string): TerminalSession;
}

function screenSuite(env: Record<string, string> = {}): ScreenSuite {
  const opened: SocketTerminal[] = [];
  let token: string;
  const suite: ScreenSuite = {
    server: undefined as unknown as TestServer,
    shell: { id: '' },
    async attach(payload = {}) {
      const terminal = await SocketTerminal.connect(suite.server.url, { token });
      opened.push(terminal);
      const received = new Received(terminal);
      const ack = await terminal.attach({ environmentId: suite.shell.id, cols: COLS, rows: ROWS, ...payload });
      if ('error' in ack) throw new Error(`attach refused: ${ack.error.code} ${ack.error.message}`);
      return { terminal, received, ack };
    },
    session(id) {
      const session = suite.server.server.app.get(TerminalService).find(id);
      if (!session) throw new Error(`the server does not keep session ${id}`);
      return session;
    },
  };

  beforeAll(async () => {
    suite.server = await startTestServer(env);
    token = (await registerUser(suite.server.api)).accessToken;
    suite.shell = await createRunningEnvironment(suite.server.api, token, 'screen');
  });

  afterEach(() => {
    closeAll(opened.splice(0));
  });

  afterAll(async () => {
    closeAll(opened.splice(0));
    await suite.server?.close();
  });

  return suite;
}

describe('Terminal screen after a resume with replay (Socket.IO, real tmux)', () => {
  const suite = screenSuite();

  it('replays exactly the missed bytes after a cut mid-output: xterm renders what capture-pane shows', async () => {
    const first = await suite.attach();
    const startedAt = Date.now();
    first.terminal.type('seq 1 3000000; echo REPLAYED_$((6*7))\r');
    await first.terminal.waitUntil(() => first.received.bytes > 16 * 1024, '16 KiB of output', 30_000);
    await cut(first.terminal);
    const lastSeq = first.terminal.seq;
    expect(first.received.tail).not.toMatch(/REPLAYED_42/);
    const session = suite.session(first.ack.sessionId);

    // The phone is back: it resumes where its stream stopped, while the output still runs.
    const second = await suite.attach({ sessionId: first.ack.sessionId, lastSeq });
    const missed = session.seq - lastSeq;
    expect(second.ack).toEqual({ sessionId: first.ack.sessionId, seq: lastSeq, resume: 'replay', readOnly: false });
    await second.received.waitForTail(finished('REPLAYED_42'));
    await quiet(() => second.terminal.seq, 'the resumed terminal', 500, 30_000);
    if (LOG) console.log(`cut at ${lastSeq} B, ${missed} B kept while away, ${second.received.bytes} B after the resume, in ${Date.now() - startedAt} ms`);

    // No byte lost or doubled: each chunk's seq follows from the previous one, across both sockets.
    expect(first.terminal.seqViolations).toEqual([]);
    expect(second.terminal.seqViolations).toEqual([]);
    expect(second.received.bytes).toBeGreaterThanOrEqual(missed);
    expect(first.received.bytes + second.received.bytes).toBe(second.terminal.seq);
    expect(second.terminal.seq).toBe(session.seq);
    await expectScreenOfPane(suite.server, suite.shell.id, [...first.received.chunks, ...second.received.chunks]);
  }, 60_000);

  it('replays output that ended while the client was away: the screen comes from the replay alone', async () => {
    const first = await suite.attach();
    // 100,000 lines in 50 bursts: about 1.5 s of output, and under 1 MiB (the kept output) in all.
    first.terminal.type('for i in $(seq 0 49); do seq $((i*2000+1)) $((i*2000+2000)); sleep 0.02; done; echo ENDED_AWAY_$((6*7))\r');
    await first.terminal.waitUntil(() => first.received.bytes > 16 * 1024, '16 KiB of output', 30_000);
    await cut(first.terminal);
    const lastSeq = first.terminal.seq;
    expect(first.received.tail).not.toMatch(/ENDED_AWAY_42/);
    // The server keeps reading for the session while nobody is attached: until the shell is idle
    // and the server has read all tmux painted.
    const session = suite.session(first.ack.sessionId);
    await until(() => paneFinished(suite.server, suite.shell.id, 'ENDED_AWAY_42'), 'the end of the output in the pane', 30_000, 50);
    const ended = await quiet(() => session.seq, 'the detached session', 500, 30_000);
    if (LOG) console.log(`cut at ${lastSeq} B, ${ended - lastSeq} B kept while away`);

    const second = await suite.attach({ sessionId: first.ack.sessionId, lastSeq });
    expect(second.ack).toEqual({ sessionId: first.ack.sessionId, seq: lastSeq, resume: 'replay', readOnly: false });
    await second.received.waitForTail(finished('ENDED_AWAY_42'));
    await quiet(() => second.terminal.seq, 'the resumed terminal', 500, 30_000);
    // The replay (what the server kept from lastSeq on) carries the end of the output; tmux may
    // add a few mode-setting bytes later (cursor, keys), never more lines.
    const stream = Buffer.from(second.received.chunks.join(''), 'utf8');
    expect(stream.length).toBeGreaterThanOrEqual(ended - lastSeq);
    expect(visibleText(stream.subarray(0, ended - lastSeq).toString('utf8'))).toMatch(finished('ENDED_AWAY_42'));
    expect(visibleText(stream.subarray(ended - lastSeq).toString('utf8'))).toBe('');
    expect(first.terminal.seqViolations).toEqual([]);
    expect(second.terminal.seqViolations).toEqual([]);
    await expectScreenOfPane(suite.server, suite.shell.id, [...first.received.chunks, ...second.received.chunks]);
  }, 60_000);
});

describe('Terminal screen after a resume with redraw (64 KiB of output kept)', () => {
  const suite = screenSuite({ TERMINAL_REPLAY_BYTES: String(64 * 1024) });

  it('redraws a new session when more than the kept output was missed: xterm of the new stream alone renders what capture-pane shows', async () => {
    const first = await suite.attach();
    // Output that outlasts the test unless interrupted.
    first.terminal.type('seq 1 1000000000\r');
    await first.terminal.waitUntil(() => first.received.bytes > 16 * 1024, '16 KiB of output', 30_000);
    await cut(first.terminal);
    const lastSeq = first.terminal.seq;
    // Away until the server no longer keeps the output right after lastSeq.
    const session = suite.session(first.ack.sessionId);
    await until(() => !session.canReplayFrom(lastSeq), 'the kept output moving past lastSeq', 30_000, 50);
    expect(session.seq - lastSeq).toBeGreaterThan(64 * 1024);

    const second = await suite.attach({ sessionId: first.ack.sessionId, lastSeq });
    expect(second.ack).toMatchObject({ seq: 0, resume: 'redraw', readOnly: false });
    expect(second.ack.sessionId).not.toBe(first.ack.sessionId);
    // Keys wait for tmux's first paint, as a person's would: until then the new tmux client may
    // still be starting in a PTY in cooked mode, where a Ctrl-C kills it (a race of the attach
    // itself, not what this test is about).
    await second.terminal.waitUntil(() => second.received.bytes > 0, 'the first paint of the new session');
    second.terminal.type('\x03');
    second.terminal.type('echo REDRAWN_$((6*7))\r');
    await second.received.waitForTail(finished('REDRAWN_42'));
    await until(() => paneFinished(suite.server, suite.shell.id, 'REDRAWN_42'), 'the end of the output in the pane', 30_000, 50);
    await quiet(() => second.terminal.seq, 'the redrawn terminal', 500, 30_000);
    if (LOG) console.log(`cut at ${lastSeq} B; the new session sent ${second.received.bytes} B`);
    expect(second.terminal.seqViolations).toEqual([]);
    expect(second.received.bytes).toBe(second.terminal.seq);
    // tmux's full redraw on attach paints the whole screen: nothing of the old stream is needed.
    await expectScreenOfPane(suite.server, suite.shell.id, second.received.chunks);
  }, 60_000);
});
