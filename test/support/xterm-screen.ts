import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import xtermHeadless from '@xterm/headless';
import { LocalRuntime, tmuxSessionName } from '@devpocket/runtime';
import { AppConfig } from '../../apps/api/src/config/app-config.js';
import type { TestServer } from './server.js';

// @xterm/headless is CommonJS (no "exports", no ESM entry for Node): its classes are on the default export.
const { Terminal } = xtermHeadless;

const execFileAsync = promisify(execFile);

/** A terminal screen as text: one string per row (trailing spaces trimmed), and the cursor (0-based cells). */
export interface ScreenText {
  rows: string[];
  cursor: { x: number; y: number };
}

/**
 * A terminal emulator fed as output arrives, the way a client renders it: `write` calls back
 * once xterm has parsed the chunk (a client acknowledging what it has shown), and `screen()`
 * reads what it shows now.
 */
export class LiveScreen {
  private readonly terminal: InstanceType<typeof Terminal>;

  constructor(
    readonly cols: number,
    readonly rows: number,
  ) {
    this.terminal = new Terminal({ cols, rows, allowProposedApi: true, scrollback: 0 });
  }

  write(data: string, parsed?: () => void): void {
    this.terminal.write(data, parsed);
  }

  /** The rows of the active buffer's viewport (trailing spaces trimmed) and the cursor. */
  screen(): ScreenText {
    const buffer = this.terminal.buffer.active;
    const lines: string[] = [];
    for (let y = 0; y < this.rows; y += 1) lines.push(buffer.getLine(buffer.viewportY + y)?.translateToString(true).trimEnd() ?? '');
    return { rows: lines, cursor: { x: buffer.cursorX, y: buffer.cursorY } };
  }

  dispose(): void {
    this.terminal.dispose();
  }
}

/**
 * What a terminal emulator of `cols`x`rows` cells shows after receiving `chunks` in order:
 * the rows of the active buffer's viewport (the alternate screen when tmux switched to it) and
 * the cursor. Resolves once xterm has parsed every chunk.
 */
export async function renderScreen(chunks: Iterable<string>, cols: number, rows: number): Promise<ScreenText> {
  const screen = new LiveScreen(cols, rows);
  try {
    for (const chunk of chunks) screen.write(chunk);
    // Writes are parsed in order: once the last one's callback ran, everything before it was parsed.
    await new Promise<void>((resolveWrite) => screen.write('', resolveWrite));
    return screen.screen();
  } finally {
    screen.dispose();
  }
}

/** The tmux socket of an environment of the test server (the local runtime's `paths().socket`). */
export function tmuxSocketOf(server: TestServer, environmentId: string): string {
  const runtime = new LocalRuntime({ dataDir: server.dataDir, socketDir: server.server.app.get(AppConfig).TMUX_SOCKET_DIR });
  return runtime.paths({ id: environmentId }).socket;
}

/** Runs a tmux command on the environment's own tmux server; resolves with its standard output. */
export async function tmux(server: TestServer, environmentId: string, args: string[]): Promise<string> {
  const { stdout } = await execFileAsync('tmux', ['-S', tmuxSocketOf(server, environmentId), ...args], { encoding: 'utf8', timeout: 10_000 });
  return stdout;
}

/** Formats of the environment's active pane (`display-message -p`), e.g. `#{pane_current_command}`. */
export async function paneFormat(server: TestServer, environmentId: string, format: string): Promise<string> {
  return (await tmux(server, environmentId, ['display-message', '-p', '-t', tmuxSessionName(environmentId), format])).replace(/\n$/, '');
}

/** What the environment's pane shows according to tmux: `capture-pane -p` rows (trailing spaces trimmed) and the pane's cursor. */
export async function capturePane(server: TestServer, environmentId: string): Promise<ScreenText & { width: number; height: number }> {
  const target = tmuxSessionName(environmentId);
  const [width, height, cursorX, cursorY] = (await paneFormat(server, environmentId, '#{pane_width} #{pane_height} #{cursor_x} #{cursor_y}')).split(' ').map(Number);
  const captured = await tmux(server, environmentId, ['capture-pane', '-p', '-t', target]);
  const rows = captured.replace(/\n$/, '').split('\n').map((line) => line.trimEnd());
  while (rows.length < height) rows.push('');
  return { rows, cursor: { x: cursorX, y: cursorY }, width, height };
}
