/**
 * `pods/exec` over WebSocket, as the kubelet (behind the API server's stream translator) speaks
 * the channel protocols `v5.channel.k8s.io` and `v4.channel.k8s.io`:
 *
 * - the subprotocol is the first one the client offers that the server supports (the server's
 *   `wsstream` handshake); none supported → 400;
 * - every binary frame starts with its channel byte: 0 stdin (client → server), 1 stdout,
 *   2 stderr, 3 error/status (server → client, once, at the end), 4 resize (client → server,
 *   JSON `{"Width":cols,"Height":rows}`, matched case-insensitively like Go's decoder — the
 *   JavaScript client sends `{"width","height"}`), 255 close (v5 only: `[255, 0]` = stdin closed);
 * - on open the server writes one empty frame on the lowest writable channel (stdout, else
 *   stderr, else error), as the kubelet's `createWebSocketStreams` does;
 * - the status is `{"metadata":{},"status":"Success"}` for exit code 0, otherwise
 *   `{"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code:
 *   error executing command [argv], exit code N","reason":"NonZeroExitCode","details":{"causes":
 *   [{"reason":"ExitCode","message":"N"}]}}`; a command that cannot be started answers an
 *   `InternalError` Status with containerd's "executable file not found in $PATH" text;
 *   then the socket closes (1000).
 *
 * The command runs for real on this machine, in the pod's sandbox (cwd = its home, env from
 * {@link Kubelet.execEnvironment}): in a node-pty PTY when `tty=true` (stderr is then merged,
 * like the API server bypasses stderr for a TTY), as a plain child process otherwise.
 * A client that closes the socket makes the process get SIGHUP (then SIGKILL after
 * {@link HANGUP_GRACE_MS}): a tmux client detaches and the session lives on. Output is paused
 * while more than {@link MAX_BUFFERED_BYTES} wait in the socket.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { accessSync, constants as fsConstants } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import * as pty from 'node-pty';
import type { WebSocket } from 'ws';
import type { ExecSessionHandle } from './kubelet.js';

/** The exec subprotocols served, in the server's preference order. */
export const EXEC_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io'] as const;

/** Channel numbers of the remotecommand WebSocket protocol. */
export const Channel = { stdin: 0, stdout: 1, stderr: 2, error: 3, resize: 4, close: 255 } as const;

/** Bytes queued in the socket above which the process's output is paused. */
export const MAX_BUFFERED_BYTES = 1024 * 1024;

/** Time a hung-up process gets before SIGKILL, in milliseconds. */
export const HANGUP_GRACE_MS = 2000;

/** How long after a PTY's exit its last output may still arrive, in milliseconds. */
const PTY_DRAIN_MS = 50;

/** The first protocol of `offered` that this server supports, or undefined (the `wsstream` handshake). */
export function negotiateProtocol(offered: Iterable<string>): string | undefined {
  for (const protocol of offered) if ((EXEC_PROTOCOLS as readonly string[]).includes(protocol)) return protocol;
  return undefined;
}

/** What an exec runs and with which streams (the `PodExecOptions` query, resolved). */
export interface ExecSpec {
  command: string[];
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
  cwd: string;
  env: Record<string, string>;
}

/** The v4/v5 status object written on the error channel when the process ends. */
export function exitStatus(command: string[], exitCode: number): object {
  if (exitCode === 0) return { metadata: {}, status: 'Success' };
  return {
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: error executing command [${command.join(' ')}], exit code ${exitCode}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(exitCode) }] },
  };
}

/** `errors.NewInternalError` as the kubelet writes it when the runtime could not start the command. */
function internalErrorStatus(message: string): object {
  const full = `error executing command in container: ${message}`;
  return { metadata: {}, status: 'Failure', message: `Internal error occurred: ${full}`, reason: 'InternalError', details: { causes: [{ message: full }] }, code: 500 };
}

function resolveExecutable(file: string, spec: ExecSpec): string | undefined {
  const executable = (path: string) => {
    try {
      accessSync(path, fsConstants.X_OK);
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'EACCES' || (error as NodeJS.ErrnoException).code === 'ENOTDIR') return false;
      throw error;
    }
  };
  if (file.includes('/')) {
    const path = isAbsolute(file) ? file : resolve(spec.cwd, file);
    return executable(path) ? path : undefined;
  }
  for (const dir of (spec.env.PATH ?? '').split(delimiter).filter(Boolean)) {
    const path = join(dir, file);
    if (executable(path)) return path;
  }
  return undefined;
}

/** One exec stream: a WebSocket and the process behind it. See the module comment. */
export class ExecSession implements ExecSessionHandle {
  private term?: pty.IPty;
  private child?: ChildProcessWithoutNullStreams;
  private finished = false;
  private paused = false;
  private hangupTimer?: NodeJS.Timeout;
  private readonly done: Promise<void>;
  private resolveDone!: () => void;

  /**
   * Starts `spec.command` and wires it to `ws` (already upgraded with `protocol`); `onEnd` runs
   * once when the stream is over (process ended or socket closed).
   */
  constructor(
    private readonly ws: WebSocket,
    private readonly protocol: string,
    private readonly spec: ExecSpec,
    private readonly onEnd: () => void,
  ) {
    this.done = new Promise((resolveDone) => (this.resolveDone = resolveDone));
    const lowest = spec.stdout ? Channel.stdout : spec.stderr ? Channel.stderr : Channel.error;
    this.send(lowest, Buffer.alloc(0));
    ws.on('message', (data) => this.onMessage(Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data)));
    ws.on('close', () => this.hangUp());
    ws.on('error', () => this.hangUp());
    this.start();
  }

  /** Resolves when the stream is over. */
  get ended(): Promise<void> {
    return this.done;
  }

  /** Kills the process (the container stopped); the client gets exit code 137 and the socket closes. */
  terminate(): void {
    if (this.finished) return;
    this.term?.kill('SIGKILL');
    this.child?.kill('SIGKILL');
    if (!this.term && !this.child) this.finish(exitStatus(this.spec.command, 137));
  }

  private start(): void {
    const [file, ...args] = this.spec.command;
    const path = resolveExecutable(file, this.spec);
    if (!path) {
      this.finish(internalErrorStatus(`failed to exec in container: failed to start exec: OCI runtime exec failed: exec failed: unable to start container process: exec: ${JSON.stringify(file)}: executable file not found in $PATH: unknown`));
      return;
    }
    if (this.spec.tty) {
      this.term = pty.spawn(path, args, { name: this.spec.env.TERM ?? 'xterm-256color', cols: 80, rows: 24, cwd: this.spec.cwd, env: this.spec.env });
      this.term.onData((data) => this.output(Channel.stdout, Buffer.from(data, 'utf8')));
      this.term.onExit(({ exitCode, signal }) => {
        const code = signal ? 128 + signal : exitCode;
        setTimeout(() => this.finish(exitStatus(this.spec.command, code)), PTY_DRAIN_MS);
      });
      return;
    }
    const child = spawn(path, args, { cwd: this.spec.cwd, env: this.spec.env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.child = child;
    child.stdout.on('data', (chunk: Buffer) => this.output(Channel.stdout, chunk));
    child.stderr.on('data', (chunk: Buffer) => this.output(this.spec.stderr ? Channel.stderr : Channel.stdout, chunk));
    child.stdin.on('error', (error: NodeJS.ErrnoException) => {
      // The process exited before reading all of stdin (EPIPE): what a pipe does; its exit status tells the rest.
      if (error.code !== 'EPIPE' && error.code !== 'ERR_STREAM_DESTROYED') this.finish(internalErrorStatus(error.message));
    });
    if (!this.spec.stdin) child.stdin.end();
    child.on('error', (error) => this.finish(internalErrorStatus(`failed to exec in container: ${error.message}`)));
    child.on('close', (code, signal) => {
      const exitCode = code ?? (signal ? 128 + osConstants.signals[signal] : 1);
      this.finish(exitStatus(this.spec.command, exitCode));
    });
  }

  private onMessage(frame: Buffer): void {
    if (frame.length === 0 || this.finished) return;
    const channel = frame[0];
    const payload = frame.subarray(1);
    switch (channel) {
      case Channel.stdin:
        if (!this.spec.stdin || payload.length === 0) return;
        if (this.term) this.term.write(payload.toString('utf8'));
        else if (this.child && !this.child.stdin.writableEnded) this.child.stdin.write(payload);
        return;
      case Channel.resize:
        this.resize(payload.toString('utf8'));
        return;
      case Channel.close:
        // v5 only: the client closed one of its streams; [255, 0] = no more stdin (EOF for a pipe).
        if (this.protocol === 'v5.channel.k8s.io' && payload[0] === Channel.stdin && this.child && !this.child.stdin.writableEnded) this.child.stdin.end();
        return;
      default:
        return;
    }
  }

  private resize(json: string): void {
    let size: Record<string, unknown>;
    try {
      size = JSON.parse(json) as Record<string, unknown>;
    } catch (error) {
      // The kubelet logs and ignores a resize it cannot decode; so does this fake.
      process.emitWarning(`exec: ignoring resize frame ${JSON.stringify(json)}: ${(error as Error).message}`);
      return;
    }
    const field = (name: string) => Object.entries(size).find(([key]) => key.toLowerCase() === name)?.[1];
    const cols = Number(field('width'));
    const rows = Number(field('height'));
    if (this.term && Number.isInteger(cols) && Number.isInteger(rows) && cols > 0 && rows > 0) this.term.resize(cols, rows);
  }

  private output(channel: number, data: Buffer): void {
    if (this.finished || (channel === Channel.stdout && !this.spec.stdout) || (channel === Channel.stderr && !this.spec.stderr)) return;
    this.send(channel, data);
    if (!this.paused && this.ws.bufferedAmount > MAX_BUFFERED_BYTES) {
      this.paused = true;
      this.term?.pause();
      this.child?.stdout.pause();
      this.child?.stderr.pause();
    }
  }

  private send(channel: number, data: Buffer): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    this.ws.send(Buffer.concat([Buffer.from([channel]), data]), { binary: true }, (error) => {
      if (error) {
        this.hangUp();
        return;
      }
      if (this.paused && this.ws.bufferedAmount < MAX_BUFFERED_BYTES / 4) {
        this.paused = false;
        this.term?.resume();
        this.child?.stdout.resume();
        this.child?.stderr.resume();
      }
    });
  }

  /** The process ended: status on the error channel, then a normal close. */
  private finish(status: object): void {
    if (this.finished) return;
    this.finished = true;
    clearTimeout(this.hangupTimer);
    this.send(Channel.error, Buffer.from(JSON.stringify(status), 'utf8'));
    if (this.ws.readyState === this.ws.OPEN) this.ws.close(1000);
    this.onEnd();
    this.resolveDone();
  }

  /** The client went away: SIGHUP the process, SIGKILL it if it lingers. */
  private hangUp(): void {
    if (this.finished || this.hangupTimer) return;
    if (!this.term && !this.child) {
      this.finish(exitStatus(this.spec.command, 129));
      return;
    }
    this.term?.kill('SIGHUP');
    this.child?.kill('SIGHUP');
    this.hangupTimer = setTimeout(() => {
      this.term?.kill('SIGKILL');
      this.child?.kill('SIGKILL');
    }, HANGUP_GRACE_MS);
  }
}
