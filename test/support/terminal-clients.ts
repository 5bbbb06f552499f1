import { io, type Socket } from 'socket.io-client';
import WebSocket from 'ws';

/** Default time a test waits for bytes on a terminal, in milliseconds. */
const WAIT_MS = 10_000;

/**
 * The terminal as a person reads it: escape sequences (CSI, OSC, charset selection, keypad
 * modes) and carriage returns removed, so a marker printed by the shell can be matched even
 * when tmux interleaves cursor movement with the text.
 */
export function visibleText(raw: string): string {
  return raw
    .replace(/\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)/g, '')
    .replace(/\x1b\[[0-?]*[ -/]*[@-~]/g, '')
    .replace(/\x1b[()][0-9A-Za-z]/g, '')
    .replace(/\x1b[=>78DEHMc]/g, '')
    .replace(/\r/g, '');
}

/** Resolves once `check()` is true, re-checking on every `notify()`; rejects after `timeoutMs` with `describe()`. */
class Waiters {
  private readonly pending = new Set<() => void>();

  notify(): void {
    for (const wake of [...this.pending]) wake();
  }

  until<T>(check: () => T | undefined, timeoutMs: number, describe: () => string): Promise<T> {
    return new Promise<T>((resolveWait, rejectWait) => {
      const first = check();
      if (first !== undefined) return resolveWait(first);
      const wake = () => {
        const value = check();
        if (value === undefined) return;
        clearTimeout(timer);
        this.pending.delete(wake);
        resolveWait(value);
      };
      const timer = setTimeout(() => {
        this.pending.delete(wake);
        rejectWait(new Error(describe()));
      }, timeoutMs);
      this.pending.add(wake);
    });
  }
}

/** What an `attach` acknowledgement carries (API.md "Terminal over Socket.IO"). */
export type AttachAck =
  | { sessionId: string; seq: number; resume: 'new' | 'replay' | 'redraw'; readOnly: boolean }
  | { error: { code: string; message: string } };

/** The attach request of API.md; `extra` fields are sent as they are (to test refusals). */
export interface AttachPayload {
  environmentId?: unknown;
  cols?: unknown;
  rows?: unknown;
  sessionId?: unknown;
  lastSeq?: unknown;
  readOnly?: unknown;
  [extra: string]: unknown;
}

/**
 * A Socket.IO client of namespace `/terminal` that keeps everything the server sent: the
 * output (checking that each `seq` is the previous one plus the chunk's UTF-8 byte length),
 * `status`, `exit`, `error` and `pong` events, and whether it was disconnected.
 */
export class SocketTerminal {
  /** All output received, raw (escape sequences included). */
  raw = '';
  /** The `seq` of the last output (or where the attach ack said the stream starts). */
  seq = 0;
  /** Every output whose `seq` did not follow from the previous one; empty when the arithmetic holds. */
  readonly seqViolations: string[] = [];
  readonly statuses: string[] = [];
  readonly exits: Array<{ reason: string }> = [];
  readonly errors: Array<{ code: string; message: string }> = [];
  readonly pongs: Array<{ at: string }> = [];
  disconnectReason?: string;
  private readonly waiters = new Waiters();

  private constructor(readonly socket: Socket) {
    socket.on('output', (payload: { data: string; seq: number }) => {
      const expected = this.seq + Buffer.byteLength(payload.data, 'utf8');
      if (payload.seq !== expected) this.seqViolations.push(`seq ${payload.seq} after ${this.seq} + ${Buffer.byteLength(payload.data, 'utf8')} bytes (expected ${expected})`);
      this.seq = payload.seq;
      this.raw += payload.data;
      this.waiters.notify();
    });
    socket.on('status', (payload: { status: string }) => {
      this.statuses.push(payload.status);
      this.waiters.notify();
    });
    socket.on('exit', (payload: { reason: string }) => {
      this.exits.push(payload);
      this.waiters.notify();
    });
    socket.on('error', (payload: { code: string; message: string }) => {
      this.errors.push(payload);
      this.waiters.notify();
    });
    socket.on('pong', (payload: { at: string }) => {
      this.pongs.push(payload);
      this.waiters.notify();
    });
    socket.on('disconnect', (reason) => {
      this.disconnectReason = reason;
      this.waiters.notify();
    });
  }

  /**
   * Connects to `<url>/terminal` over the websocket transport with `auth` as the handshake's
   * auth object (`{ token }`). Rejects with the `connect_error` (its message is the server's code).
   */
  static connect(url: string, auth: Record<string, unknown> | undefined, timeoutMs = WAIT_MS): Promise<SocketTerminal> {
    const socket = io(`${url}/terminal`, { auth, transports: ['websocket'], reconnection: false, forceNew: true, timeout: timeoutMs });
    return new Promise((resolveConnect, rejectConnect) => {
      socket.once('connect', () => {
        socket.off('connect_error');
        resolveConnect(new SocketTerminal(socket));
      });
      socket.once('connect_error', (error) => {
        socket.close();
        rejectConnect(error);
      });
    });
  }

  /** Connects and attaches; throws when the ack is an error. */
  static async open(url: string, token: string, attach: AttachPayload): Promise<{ terminal: SocketTerminal; ack: Extract<AttachAck, { sessionId: string }> }> {
    const terminal = await SocketTerminal.connect(url, { token });
    const ack = await terminal.attach(attach);
    if ('error' in ack) {
      terminal.close();
      throw new Error(`attach refused: ${ack.error.code} ${ack.error.message}`);
    }
    return { terminal, ack };
  }

  /**
   * Sends `attach` and resolves with the ack; the output's seq arithmetic restarts at the ack's
   * `seq`. The restart happens in the ack callback itself, not in a promise continuation: output
   * packets that arrive in the same network read as the ack are handled before any continuation.
   */
  attach(payload: AttachPayload, timeoutMs = WAIT_MS): Promise<AttachAck> {
    return new Promise((resolveAck, rejectAck) => {
      this.socket.timeout(timeoutMs).emit('attach', payload, (error: Error | null, ack: AttachAck) => {
        if (error) return rejectAck(error);
        if (!('error' in ack)) this.seq = ack.seq;
        resolveAck(ack);
      });
    });
  }

  /** Types `data` (keystrokes) into the terminal. */
  type(data: string): void {
    this.socket.emit('input', { data });
  }

  resize(cols: number, rows: number): void {
    this.socket.emit('resize', { cols, rows });
  }

  /** The output as a person reads it (see {@link visibleText}). */
  get text(): string {
    return visibleText(this.raw);
  }

  /** Resolves with the first match of `pattern` in the visible output, waiting for it up to `timeoutMs`. */
  waitFor(pattern: RegExp, timeoutMs = WAIT_MS): Promise<RegExpMatchArray> {
    return this.waiters.until(
      () => this.text.match(pattern) ?? undefined,
      timeoutMs,
      () => `no ${pattern} on the Socket.IO terminal within ${timeoutMs} ms; it shows:\n${this.text.slice(-2000)}\nraw: ${JSON.stringify(this.raw.slice(-3000))}`,
    );
  }

  /** Resolves once `check()` holds for what was received (events, disconnect), up to `timeoutMs`. */
  waitUntil(check: () => boolean, what: string, timeoutMs = WAIT_MS): Promise<true> {
    return this.waiters.until(
      () => (check() ? true : undefined),
      timeoutMs,
      () => `${what} did not happen within ${timeoutMs} ms`,
    );
  }

  get connected(): boolean {
    return this.socket.connected;
  }

  /** Closes the socket (the server detaches its tmux client; the shell lives on). */
  close(): void {
    this.socket.close();
  }
}

/** A server frame of the plain-WebSocket protocol. */
export type WsFrame = { type: string; [field: string]: unknown };

/**
 * A plain WebSocket client of `/api/v1/ws/terminal/{id}` that keeps every frame, the output
 * text, and the close code.
 */
export class WsTerminal {
  readonly frames: WsFrame[] = [];
  raw = '';
  closed?: { code: number; reason: string };
  private readonly waiters = new Waiters();

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      const frame = JSON.parse(isBinary ? Buffer.from(data as Buffer).toString('utf8') : data.toString()) as WsFrame;
      this.frames.push(frame);
      if (frame.type === 'output' && typeof frame.data === 'string') this.raw += frame.data;
      this.waiters.notify();
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.waiters.notify();
    });
  }

  /** `ws(s)://…/api/v1/ws/<endpoint>/<environmentId>?token=<token>` for the server at `url` (http). */
  static address(url: string, environmentId: string, token?: string, extra: Record<string, string> = {}, endpoint: 'terminal' | 'logs' = 'terminal'): string {
    const address = new URL(`/api/v1/ws/${endpoint}/${environmentId}`, url.replace(/^http/, 'ws'));
    if (token !== undefined) address.searchParams.set('token', token);
    for (const [name, value] of Object.entries(extra)) address.searchParams.set(name, value);
    return address.toString();
  }

  /**
   * Opens the WebSocket; resolves once it is open (frames are collected from the first one on).
   * Rejects when the upgrade is refused, with the HTTP status in `error.statusCode` and the body in `error.body`.
   */
  static connect(address: string, timeoutMs = WAIT_MS): Promise<WsTerminal> {
    const ws = new WebSocket(address, { handshakeTimeout: timeoutMs });
    // Listeners are on before the upgrade completes, so the welcome frame is never missed.
    const terminal = new WsTerminal(ws);
    return new Promise((resolveOpen, rejectOpen) => {
      ws.once('open', () => resolveOpen(terminal));
      ws.once('unexpected-response', (_request, response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => {
          const refusal = Object.assign(new Error(`upgrade refused with HTTP ${response.statusCode}`), { statusCode: response.statusCode, body });
          ws.terminate();
          rejectOpen(refusal);
        });
      });
      // `on`, not `once`: terminate() during the handshake emits a second error, which must not go unhandled.
      ws.on('error', (error) => rejectOpen(error));
    });
  }

  /** Resolves with the HTTP status and body of a refused upgrade; fails when the upgrade succeeds. */
  static async refusal(address: string): Promise<{ statusCode: number; body: any }> {
    try {
      const terminal = await WsTerminal.connect(address);
      terminal.close();
    } catch (error) {
      const refusal = error as Error & { statusCode?: number; body?: string };
      if (refusal.statusCode === undefined) throw error;
      let body: unknown = refusal.body;
      try {
        body = JSON.parse(refusal.body ?? '');
      } catch {
        // Not JSON: the raw text is what the server answered.
      }
      return { statusCode: refusal.statusCode, body };
    }
    throw new Error(`the upgrade of ${address} was accepted`);
  }

  /** Sends one frame; a string goes as it is (to test malformed frames), anything else as JSON. */
  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  type(data: string): void {
    this.send({ type: 'input', data });
  }

  resize(cols: number, rows: number): void {
    this.send({ type: 'resize', cols, rows });
  }

  get text(): string {
    return visibleText(this.raw);
  }

  waitFor(pattern: RegExp, timeoutMs = WAIT_MS): Promise<RegExpMatchArray> {
    return this.waiters.until(
      () => this.text.match(pattern) ?? undefined,
      timeoutMs,
      () => `no ${pattern} on the WebSocket terminal within ${timeoutMs} ms; it shows:\n${this.text.slice(-2000)}\nraw: ${JSON.stringify(this.raw.slice(-3000))}`,
    );
  }

  /** Resolves with the first frame after index `from` of type `type`. */
  waitForFrame(type: string, from = 0, timeoutMs = WAIT_MS): Promise<WsFrame> {
    return this.waiters.until(
      () => this.frames.slice(from).find((frame) => frame.type === type),
      timeoutMs,
      () => `no ${type} frame within ${timeoutMs} ms; frames: ${JSON.stringify(this.frames.map((frame) => frame.type))}`,
    );
  }

  /** Resolves with the first `log` frame whose line matches `pattern` (the logs endpoint). */
  waitForLogLine(pattern: RegExp, timeoutMs = WAIT_MS): Promise<WsFrame> {
    return this.waiters.until(
      () => this.frames.find((frame) => frame.type === 'log' && typeof frame.line === 'string' && pattern.test(frame.line)),
      timeoutMs,
      () => `no log line matching ${pattern} within ${timeoutMs} ms; lines: ${JSON.stringify(this.frames.filter((frame) => frame.type === 'log').map((frame) => frame.line))}`,
    );
  }

  /** Resolves with the close code and reason once the server closed the connection. */
  waitForClose(timeoutMs = WAIT_MS): Promise<{ code: number; reason: string }> {
    return this.waiters.until(
      () => this.closed,
      timeoutMs,
      () => `the WebSocket was not closed within ${timeoutMs} ms`,
    );
  }

  close(): void {
    if (this.ws.readyState === WebSocket.CONNECTING || this.ws.readyState === WebSocket.OPEN) this.ws.close();
  }
}

/** What {@link shellSize} needs of a terminal client, whichever the transport. */
export interface TypingTerminal {
  type(data: string): void;
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
}

/**
 * Asks the shell for its size with `stty size` until it reports `rows`x`cols`; resolves with
 * every size it reported (`"<rows>x<cols>"`), the last being the expected one. A resize reaches
 * the shell when the tmux client process relays it to the tmux server, while keystrokes go to
 * the server directly, so a command typed right after a resize may still see the old size.
 */
export async function shellSize(terminal: TypingTerminal, rows: number, cols: number, timeoutMs = WAIT_MS): Promise<string[]> {
  const nonce = Math.random().toString(36).slice(2, 8).toUpperCase();
  const seen: string[] = [];
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 1; seen.at(-1) !== `${rows}x${cols}`; attempt += 1) {
    if (Date.now() >= deadline || attempt > 100) throw new Error(`the shell did not report ${rows}x${cols} within ${timeoutMs} ms and 100 attempts; it reported ${seen.join(', ')}`);
    terminal.type(`echo SIZE_${nonce}_${attempt}_$(stty size | tr " " x)_END\r`);
    const match = await terminal.waitFor(new RegExp(`SIZE_${nonce}_${attempt}_(\\d+x\\d+)_END`), Math.max(1, deadline - Date.now()));
    seen.push(match[1]);
  }
  return seen;
}

/** Closes every client given, ignoring the ones already closed. */
export function closeAll(clients: Iterable<{ close(): void } | undefined>): void {
  for (const client of clients) client?.close();
}
