import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { DEFAULT_FLOW, TerminalService, type TerminalSession } from '../../apps/api/src/terminal/terminal.service.js';
import { createRunningEnvironment, registerUser, startTestServer, type TestServer } from '../support/server.js';
import { SocketTerminal, closeAll } from '../support/terminal-clients.js';
import { LiveScreen, capturePane, paneFormat, type ScreenText } from '../support/xterm-screen.js';

const MiB = 1024 * 1024;
const COLS = 100;
const ROWS = 30;
/**
 * The high-water mark of this file's server: the smallest allowed. tmux paints a client only
 * some 20 to 100 KB/s of screens for this output, so reaching the default 1 MiB would take a
 * test far too long; the mechanism is the same.
 */
const HIGH_WATER = 64 * 1024;
/** What `yes … | head -c` writes in the first test: 200 MB (tmux took 6.5 to 10 s for it here, about 3 times that under heavy load). */
const PRODUCED = 200_000_000;
/** Growth of the Jest process's RSS (server and client) allowed while that output goes through (7 to 10 MiB measured). */
const RSS_BOUND = 64 * MiB;
/** TERMINAL_TEST_LOG=1 prints the figures of the long-output test. */
const LOG = process.env.TERMINAL_TEST_LOG === '1';

import { until } from '../support/waiting.js';

/**
 * A terminal client that renders what it receives with xterm and acknowledges only what it has
 * rendered, at a pace the test sets: keeping up, suspended (renders nothing, like an app in the
 * background), or throttled (a phone on a poor network). It keeps counts, not the stream: the
 * terminal's own text is cut to its last 64 KiB, so a long stream costs the test process nothing.
 */
class Reader {
  readonly stats = { bytes: 0, frames: 0, largestFrame: 0 };
  readonly screen = new LiveScreen(COLS, ROWS);
  private readonly queue: Array<{ data: string; seq: number }> = [];
  private mode: 'keep-up' | 'suspended' | 'throttled' = 'keep-up';
  private timer?: NodeJS.Timeout;

  constructor(readonly terminal: SocketTerminal) {
    terminal.socket.on('output', (payload: { data: string; seq: number }) => {
      const size = Buffer.byteLength(payload.data, 'utf8');
      this.stats.bytes += size;
      this.stats.frames += 1;
      this.stats.largestFrame = Math.max(this.stats.largestFrame, size);
      this.queue.push(payload);
      if (this.mode === 'keep-up') this.render(Infinity);
      // Runs after the terminal's own listener (which appended the chunk and checked its seq).
      if (terminal.raw.length > 128 * 1024) terminal.raw = terminal.raw.slice(-64 * 1024);
    });
  }

  keepUp(): void {
    this.setMode('keep-up');
    this.render(Infinity);
  }

  suspend(): void {
    this.setMode('suspended');
  }

  /** Renders at most `bytes` (at least one frame) every `everyMs`. */
  throttle(bytes: number, everyMs: number): void {
    this.setMode('throttled');
    this.timer = setInterval(() => this.render(bytes), everyMs);
  }

  dispose(): void {
    this.setMode('suspended');
    this.screen.dispose();
  }

  private setMode(mode: Reader['mode']): void {
    clearInterval(this.timer);
    this.mode = mode;
  }

  /** Renders queued frames up to `budget` bytes, then acknowledges them once xterm has parsed them. */
  private render(budget: number): void {
    let used = 0;
    let last: number | undefined;
    while (this.queue.length > 0) {
      const size = Buffer.byteLength(this.queue[0].data, 'utf8');
      if (used > 0 && used + size > budget) break;
      const frame = this.queue.shift()!;
      this.screen.write(frame.data);
      used += size;
      last = frame.seq;
    }
    if (last === undefined) return;
    const seq = last;
    this.screen.write('', () => this.terminal.socket.emit('ack', { seq }));
  }
}

/** Whether the screen shows a row `DONE` and, on the cursor's row right under it, a prompt. */
function finished(screen: ScreenText): boolean {
  const row = screen.rows.lastIndexOf('DONE');
  return row >= 0 && screen.cursor.y === row + 1 && /[$#]$/.test(screen.rows[row + 1]);
}

describe('Terminal flow control with slow readers (Socket.IO, real tmux, 64 KiB high-water mark)', () => {
  let server: TestServer;
  let token: string;
  let shell: { id: string };
  const opened: SocketTerminal[] = [];
  const readers: Reader[] = [];

  /** Connects and attaches at COLS x ROWS, with a reader (keeping up) listening from before the attach. */
  async function attached() {
    const terminal = await SocketTerminal.connect(server.url, { token });
    opened.push(terminal);
    const reader = new Reader(terminal);
    readers.push(reader);
    const ack = await terminal.attach({ environmentId: shell.id, cols: COLS, rows: ROWS });
    if ('error' in ack) throw new Error(`attach refused: ${ack.error.code} ${ack.error.message}`);
    const session = server.server.app.get(TerminalService).find(ack.sessionId) as TerminalSession;
    return { terminal, reader, session };
  }

  beforeAll(async () => {
    server = await startTestServer({ TERMINAL_HIGH_WATER_BYTES: String(HIGH_WATER) });
    token = (await registerUser(server.api)).accessToken;
    shell = await createRunningEnvironment(server.api, token, 'flow');
  });

  afterEach(() => {
    closeAll(opened.splice(0));
    for (const reader of readers.splice(0)) reader.dispose();
  });

  afterAll(async () => {
    closeAll(opened.splice(0));
    await server?.close();
  });

  it('streams 200 MB to a throttled reader: server memory stays bounded, unacknowledged output stays under the high-water mark, and tmux sends screens, not the whole output', async () => {
    const { terminal, reader, session } = await attached();
    terminal.type('echo READY_$((6*7))\r');
    await terminal.waitFor(/READY_42/);
    const baseline = process.memoryUsage().rss;
    const seen = { rss: baseline, unacknowledged: 0, pausedSamples: 0, samples: 0 };
    const sampling = setInterval(() => {
      seen.rss = Math.max(seen.rss, process.memoryUsage().rss);
      seen.unacknowledged = Math.max(seen.unacknowledged, session.unacknowledged);
      seen.samples += 1;
      if (session.isPaused) seen.pausedSamples += 1;
    }, 50);
    const startedAt = Date.now();
    try {
      // The phone goes to the background until the server holds its output back, then reads
      // over a poor network: 8 KiB every 200 ms.
      reader.suspend();
      terminal.type(`yes 'a line of thirty-two characters.' | head -c ${PRODUCED}; printf '\\nDO%sE\\n' N\r`);
      await until(() => session.isPaused, 'the pause of the PTY for the suspended reader', 30_000);
      reader.throttle(8 * 1024, 200);
      await until(() => finished(reader.screen.screen()), 'DONE and a prompt on the client\'s screen', 50_000, 100);
    } finally {
      clearInterval(sampling);
      if (LOG) {
        const { bytes, frames, largestFrame } = reader.stats;
        console.log(
          `${PRODUCED} B produced in ${Date.now() - startedAt} ms; client got ${bytes} B in ${frames} frames (largest ${largestFrame} B); ` +
            `RSS +${((seen.rss - baseline) / MiB).toFixed(1)} MiB (baseline ${(baseline / MiB).toFixed(0)} MiB); ` +
            `unacknowledged max ${seen.unacknowledged} B; paused in ${seen.pausedSamples} of ${seen.samples} samples`,
        );
      }
    }

    expect(seen.rss - baseline).toBeLessThan(RSS_BOUND);
    // The PTY is paused once the high-water mark is crossed: only the frame that crossed it is over.
    expect(reader.stats.largestFrame).toBeLessThanOrEqual(2 * DEFAULT_FLOW.frameBytes);
    expect(seen.unacknowledged).toBeGreaterThan(HIGH_WATER);
    expect(seen.unacknowledged).toBeLessThanOrEqual(HIGH_WATER + reader.stats.largestFrame);
    // tmux paints screens, not the history: the client got a small part of what was produced.
    expect(reader.stats.bytes).toBeLessThan(PRODUCED / 20);
    expect(terminal.seqViolations).toEqual([]);
    expect(reader.stats.bytes).toBe(terminal.seq);
    // What the client shows is the pane as tmux has it.
    reader.keepUp();
    const paneRows = async () => (await capturePane(server, shell.id)).rows;
    await until(async () => JSON.stringify(reader.screen.screen().rows) === JSON.stringify(await paneRows()), 'the client screen equal to the pane', 5_000, 100).catch(() => undefined);
    expect(reader.screen.screen().rows).toEqual(await paneRows());
  }, 60_000);

  it('lets Ctrl-C through to the shell while output is paused for a reader that does not acknowledge', async () => {
    const { terminal, reader, session } = await attached();
    terminal.type('echo READY_$((6*7))\r');
    await terminal.waitFor(/READY_42/);
    const shellCommand = await paneFormat(server, shell.id, '#{pane_current_command}');
    reader.suspend();
    terminal.type('yes\r');
    await until(() => session.isPaused, 'the pause of the PTY');
    await until(async () => (await paneFormat(server, shell.id, '#{pane_current_command}')) === 'yes', '`yes` running in the pane');
    await until(() => terminal.seq === session.seq, 'every frame sent before the pause received');
    const pausedAt = terminal.seq;
    // Paused just past the high-water mark: by the frame that crossed it, no more.
    expect(session.unacknowledged).toBeGreaterThan(HIGH_WATER);
    expect(session.unacknowledged).toBeLessThanOrEqual(HIGH_WATER + reader.stats.largestFrame);

    terminal.type('\x03');
    // The shell is back in the pane while the reader still acknowledges nothing: input is never held back by output.
    await until(async () => (await paneFormat(server, shell.id, '#{pane_current_command}')) === shellCommand, 'the shell back in the pane');
    expect(session.isPaused).toBe(true);
    expect(terminal.seq).toBe(pausedAt);

    // Once the reader catches up, it sees the prompt under the ^C and can type again.
    reader.keepUp();
    await until(() => {
      const { rows, cursor } = reader.screen.screen();
      return /\^C$/.test(rows[cursor.y - 1] ?? '') && /[$#]$/.test(rows[cursor.y]);
    }, 'the prompt under ^C on the client\'s screen');
    terminal.type('echo BACK_$((6*7))\r');
    await terminal.waitFor(/BACK_42/);
    expect(session.isPaused).toBe(false);
    expect(terminal.seqViolations).toEqual([]);
  }, 30_000);
});
