// The peers and floors the terminal benchmarks compare DevPocket with, and what drives them:
// - WeTTY 3.x (node_modules/wetty) as a child process on loopback, and a socket.io-client that
//   speaks its protocol (default namespace, path /socket.io; `login` → `resize`, `data` strings,
//   `input` strings, `commit <bytes>` flow-control acks as its browser client sends them);
// - the floors: a raw PTY running bash in this process (node-pty), and a raw PTY running a tmux
//   client of a tmux server set up by DevPocket's own LocalRuntime (same tmux.conf, same shell
//   environment), in this process;
// - DevPocket's Socket.IO terminal as the same small terminal interface;
// - a loopback TCP proxy that reads from the server side at a fixed rate (a slow phone link);
// - output watchers: first matching chunk, a marker in the visible text across chunks, quiet.
//
// Every shell is bash as a login shell (`bash -l`, as tmux starts DevPocket's) with the
// environment DevPocket's local runtime gives: PATH, USER, LOGNAME, HOME (a fresh temporary
// directory), SHELL, TERM=xterm-256color, LANG=C.UTF-8. {@link prepareShell} then types the same
// setup line into each, so every prompt is `bench$ ` and no PROMPT_COMMAND runs.
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pty from 'node-pty';
import { io } from 'socket.io-client';
import { LocalRuntime } from '../../dist/libs/runtime/src/index.js';
import { REPO_ROOT, attachSocket, freePort, median, sleep, terminateChild, visible } from './server.mjs';


/** Terminal size used on every path, in cells. */
export const COLS = 120;
export const ROWS = 40;

/** The prompt every shell shows after {@link prepareShell}. */
export const PROMPT = 'bench$ ';

/** 32 characters of one line of bulk output: lower case and digits only (no marker character). */
export const YES_LINE = 'abcdefghijklmnopqrstuvwxyz012345';

/** Lines of the bulk command: 1,000,000 × 33 bytes = 33 MB from `yes` (34 MB once the PTY adds CRs). */
export const BULK_LINES = 1_000_000;

/** WeTTY's client commits every this many characters of `data` (its FlowControlClient default, 2^18). */
export const WETTY_ACK_BYTES = 262_144;

const WETTY_MAIN = join(REPO_ROOT, 'node_modules', 'wetty', 'build', 'main.js');
const STARTUP_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 5_000;

/** bash's path on this host (the local runtime's choice), else /bin/sh. */
export function shellPath() {
  return ['/bin/bash', '/usr/bin/bash', '/usr/local/bin/bash'].find((candidate) => existsSync(candidate)) ?? '/bin/sh';
}

/** The environment of a shell as DevPocket's local runtime builds it, with `home` as HOME. */
export function shellEnvironment(home) {
  const env = { PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin', HOME: home, SHELL: shellPath(), TERM: 'xterm-256color', LANG: 'C.UTF-8' };
  if (process.env.USER) env.USER = process.env.USER;
  if (process.env.LOGNAME) env.LOGNAME = process.env.LOGNAME;
  return env;
}

/**
 * A terminal as the benchmarks drive it, whatever the path: `write(text)` types, listeners
 * added with `onData(listener)` get each output chunk (a string) and the time it arrived
 * (performance.now(), ms), `bytesReceived` counts the UTF-8 bytes of output received so far,
 * `close()` releases everything the path opened (idempotent).
 */
function terminal(name, write, close) {
  const listeners = new Set();
  let closing;
  const term = {
    name,
    bytesReceived: 0,
    write,
    /** Adds `listener(data, at)`; returns a function that removes it. */
    onData(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    /** Delivers one output chunk to the listeners (called by the path). */
    feed(data) {
      const at = performance.now();
      term.bytesReceived += Buffer.byteLength(data, 'utf8');
      for (const listener of listeners) listener(data, at);
    },
    close() {
      closing ??= Promise.resolve().then(close);
      return closing;
    },
  };
  return term;
}

/**
 * DevPocket's path: a Socket.IO client of `<url>/terminal` attached to `environmentId` at
 * COLS×ROWS, acknowledging every `output` (`ack {seq}`) as it arrives. `url` may be a proxy's.
 * Resolves with a terminal (see {@link terminal}) whose `socket` is the Socket.IO socket.
 */
export async function devpocketTerminal(url, token, environmentId, { name = 'devpocket' } = {}) {
  let term;
  const pendingChunks = [];
  const socket = await attachSocket(url, token, environmentId, {
    cols: COLS,
    rows: ROWS,
    autoAck: true,
    onOutput: (data) => (term ? term.feed(data) : pendingChunks.push(data)),
  });
  term = terminal(name, (data) => socket.emit('input', { data }), () => socket.close());
  term.socket = socket;
  for (const data of pendingChunks) term.feed(data);
  return term;
}

/**
 * Starts WeTTY as a child process: `node node_modules/wetty/build/main.js --host 127.0.0.1
 * --port <free> --command 'bash -l' --log-level error`, in a fresh temporary HOME and with the
 * shell environment of {@link shellEnvironment} as its whole environment (WeTTY hands its own
 * environment to the PTY). Run as root with its default ssh host `localhost`, WeTTY spawns the
 * command directly (`/usr/bin/env -S bash -l`), without `login` or ssh; as another user it
 * would ssh, so this refuses to run unless root.
 * Resolves once it answers HTTP, with `{ url, pid, home, stop() }`; `stop()` sends SIGTERM
 * (SIGKILL after 5 s), waits for the exit and removes the home directory.
 */
export async function startWetty() {
  if (process.getuid?.() !== 0) throw new Error('WeTTY runs the shell directly only as root (otherwise it uses ssh): run the benchmark as root');
  if (!existsSync(WETTY_MAIN)) throw new Error(`${WETTY_MAIN} is missing: install the dev dependencies (npm ci)`);
  const home = await mkdtemp(join(tmpdir(), 'wetty-bench-'));
  const port = await freePort();
  const child = spawn(process.execPath, [WETTY_MAIN, '--host', '127.0.0.1', '--port', String(port), '--command', 'bash -l', '--log-level', 'error'], {
    cwd: home,
    env: shellEnvironment(home),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk) => (output = (output + chunk).slice(-20_000));
  child.stdout.setEncoding('utf8').on('data', keep);
  child.stderr.setEncoding('utf8').on('data', keep);
  let exitStatus;
  const exited = new Promise((resolveExit) =>
    child.once('exit', (code, signal) => {
      exitStatus = { code, signal };
      resolveExit(exitStatus);
    }),
  );
  let stopping;
  const url = `http://127.0.0.1:${port}`;
  const instance = {
    url,
    pid: child.pid,
    home,
    get logs() {
      return output;
    },
    stop() {
      stopping ??= (async () => {
        process.off('exit', killOnExit);
        if (exitStatus === undefined) await terminateChild(child, exited, STOP_TIMEOUT_MS);
        await rm(home, { recursive: true, force: true });
      })();
      return stopping;
    },
  };
  const killOnExit = () => {
    if (exitStatus === undefined) child.kill('SIGKILL');
  };
  process.on('exit', killOnExit);
  try {
    const deadline = Date.now() + STARTUP_TIMEOUT_MS;
    for (;;) {
      if (exitStatus !== undefined) throw new Error(`WeTTY exited (${exitStatus.signal ?? `code ${exitStatus.code}`}) before it answered:\n${output}`);
      const status = await fetch(`${url}/`).then((response) => response.status, () => 0);
      if (status === 200) break;
      if (Date.now() > deadline) throw new Error(`WeTTY did not answer within ${STARTUP_TIMEOUT_MS / 1000} s:\n${output}`);
      await sleep(50);
    }
  } catch (error) {
    await instance.stop().catch(() => undefined);
    throw error;
  }
  return instance;
}

/**
 * WeTTY's path, driven as its browser client does (build/client/wetty.js): a socket.io-client on
 * `url` (path /socket.io, default namespace, websocket transport); when the server emits `login`
 * (its PTY is spawned) the client sends `resize {cols, rows}`; output arrives as `data` strings,
 * keystrokes go out as `input` strings. Flow control as in its FlowControlClient: a counter of
 * received characters, and when it reaches WETTY_ACK_BYTES the client subtracts that and emits
 * `commit WETTY_ACK_BYTES` (at most one per chunk, as the browser does); the server pauses its
 * PTY above 2 MiB uncommitted and resumes under 512 KiB. `url` may be a proxy's.
 * Resolves with a terminal (see {@link terminal}) once `login` came; `commits` counts the commits.
 */
export function wettyTerminal(url, { name = 'wetty', timeoutMs = 30_000 } = {}) {
  const socket = io(url, { path: '/socket.io', transports: ['websocket'], reconnection: false, forceNew: true, timeout: timeoutMs });
  const term = terminal(name, (data) => socket.emit('input', data), () => socket.close());
  term.socket = socket;
  term.commits = 0;
  let counter = 0;
  socket.on('data', (data) => {
    counter += data.length;
    if (counter >= WETTY_ACK_BYTES) {
      counter -= WETTY_ACK_BYTES;
      term.commits += 1;
      socket.emit('commit', WETTY_ACK_BYTES);
    }
    term.feed(data);
  });
  return new Promise((resolveLogin, reject) => {
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error(`WeTTY: no login within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('connect_error', (error) => {
      clearTimeout(timer);
      socket.close();
      reject(new Error(`WeTTY connect: ${error.message}`));
    });
    socket.once('login', () => {
      clearTimeout(timer);
      socket.emit('resize', { cols: COLS, rows: ROWS });
      resolveLogin(term);
    });
  });
}

/**
 * The floor without tmux: node-pty running `bash -l` at COLS×ROWS in this process, in a fresh
 * temporary HOME with {@link shellEnvironment}. Output is read as fast as it comes (no acks).
 */
export async function rawPtyTerminal({ name = 'raw pty (bash)' } = {}) {
  const home = await mkdtemp(join(tmpdir(), 'floor-bench-'));
  const child = pty.spawn(shellPath(), ['-l'], { name: 'xterm-256color', cols: COLS, rows: ROWS, cwd: home, env: shellEnvironment(home) });
  let exited = false;
  const gone = new Promise((resolveExit) =>
    child.onExit(() => {
      exited = true;
      resolveExit();
    }),
  );
  const term = terminal(name, (data) => child.write(data), async () => {
    if (!exited) {
      child.kill('SIGHUP');
      await Promise.race([gone, sleep(STOP_TIMEOUT_MS)]);
      if (!exited) child.kill('SIGKILL');
    }
    await rm(home, { recursive: true, force: true });
  });
  child.onData((data) => term.feed(data));
  term.pid = child.pid;
  return term;
}

/**
 * The floor with tmux: DevPocket's LocalRuntime, in this process, with a data directory of its
 * own: provision (same tmux.conf and shell environment as the server writes), start (the tmux
 * server and its detached session running `bash -l`), then `openTerminal` at COLS×ROWS, which is
 * a tmux client in a node-pty PTY — the same work the server does, without HTTP, Socket.IO,
 * framing or acks. `close()` detaches, kills the tmux server and removes the directory.
 */
export async function tmuxPtyTerminal({ name = 'raw pty + tmux' } = {}) {
  const dataDir = await mkdtemp(join(tmpdir(), 'floor-tmux-bench-'));
  const runtime = new LocalRuntime({ dataDir });
  const env = { id: randomUUID(), userId: randomUUID(), name: 'floor' };
  const cleanup = async () => {
    await runtime.killAllServers().catch(() => undefined);
    await rm(runtime.socketDir, { recursive: true, force: true });
    await rm(dataDir, { recursive: true, force: true });
  };
  let stream;
  try {
    await runtime.provision(env, { name: 'ubuntu', image: 'ubuntu:24.04', defaultPort: 8080, environmentVariables: {}, startupCommands: [] }, { cpu: '1', memory: '1Gi', storage: '1Gi' });
    await runtime.start(env);
    stream = await runtime.openTerminal(env, { cols: COLS, rows: ROWS });
  } catch (error) {
    await cleanup();
    throw error;
  }
  const term = terminal(name, (data) => stream.write(data), async () => {
    stream.close();
    await cleanup();
  });
  stream.onData((data) => term.feed(data));
  return term;
}

/**
 * The tmux floor behind one more process: {@link tmuxPtyTerminal} opened in a child process
 * (bench/lib/tmux-relay.mjs) that relays output to its stdout and this process's keystrokes to
 * the terminal, unframed — what a process hop between tmux and the client costs by itself.
 */
export async function relayedTmuxPtyTerminal({ name = 'pty + tmux, relayed' } = {}) {
  const child = spawn(process.execPath, [join(import.meta.dirname, 'tmux-relay.mjs')], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise((resolveExit) => child.once('exit', resolveExit));
  const term = terminal(name, (data) => child.stdin.write(data), async () => {
    child.stdin.end();
    await exited;
  });
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (data) => term.feed(data));
  // Its tmux paints once it is attached: the first output says the relay is ready.
  await nextOutput(term, () => true, 'first paint of the relayed tmux client', STARTUP_TIMEOUT_MS);
  return term;
}

/**
 * Resolves with the arrival time (performance.now(), ms) of the first chunk for which
 * `predicate(chunk)` is true, among chunks arriving after the call; rejects after `timeoutMs`.
 */
export function nextOutput(term, predicate, what, timeoutMs = 5_000) {
  return new Promise((resolveWait, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`${term.name}: no ${what} within ${timeoutMs} ms`));
    }, timeoutMs);
    const off = term.onData((data, at) => {
      if (!predicate(data)) return;
      clearTimeout(timer);
      off();
      resolveWait(at);
    });
  });
}

/**
 * Watches for `marker` in the visible text (see `visible`) of the output arriving after the
 * call, also when it is split across chunks or interleaved with escape sequences: each chunk is
 * scanned together with the last 512 characters before it. Chunks without the marker's first
 * character anywhere are skipped cheaply, so pick one the output does not otherwise contain.
 * Returns `{ promise, cancel() }`; `promise` resolves with `{ at, bytes }` — the arrival time of
 * the chunk completing the marker (performance.now(), ms) and `term.bytesReceived` then — or
 * rejects after `timeoutMs` with an error whose `timedOut` is true.
 */
export function watchMarker(term, marker, timeoutMs) {
  let tail = '';
  let off;
  let timer;
  const promise = new Promise((resolveWait, reject) => {
    timer = setTimeout(() => {
      off();
      const error = new Error(`${term.name}: marker ${marker} not seen within ${timeoutMs} ms`);
      error.timedOut = true;
      reject(error);
    }, timeoutMs);
    off = term.onData((data, at) => {
      const text = tail + data;
      if (text.includes(marker[0]) && visible(text).includes(marker)) {
        clearTimeout(timer);
        off();
        resolveWait({ at, bytes: term.bytesReceived });
        return;
      }
      tail = text.slice(-512);
    });
  });
  return {
    promise,
    cancel() {
      clearTimeout(timer);
      off();
    },
  };
}

/**
 * A fresh marker and the shell command that prints it: `printf '%s%s\n' <first half> <second half>`,
 * so the echoed command line (halves separated by a space) never matches. The marker starts with
 * `Z` and is otherwise upper-case hex and letters, none of which the bulk output contains.
 */
export function newMarker() {
  const id = randomBytes(4).toString('hex').toUpperCase();
  const first = `ZQ${id}`;
  const second = 'XDONE';
  return { marker: `${first}${second}`, command: `printf '%s%s\\n' ${first} ${second}` };
}

/** Resolves once no output arrived for `ms` milliseconds (checked every `ms`), or after `maxMs` (rejects). */
export async function quiet(term, ms, maxMs = 120_000) {
  let last = performance.now();
  const off = term.onData((_data, at) => (last = at));
  const deadline = performance.now() + maxMs;
  try {
    while (performance.now() - last < ms) {
      if (performance.now() > deadline) throw new Error(`${term.name}: output did not stop within ${maxMs} ms`);
      await sleep(Math.max(5, ms - (performance.now() - last)));
    }
  } finally {
    off();
  }
}

/**
 * Makes every shell alike: types ` PS1='bench$ '; PROMPT_COMMAND=; unset HISTFILE; clear`, waits
 * for the prompt to appear after the clear, then for 200 ms without output.
 */
export async function prepareShell(term, timeoutMs = 15_000) {
  await quiet(term, 300, timeoutMs);
  const { marker, command } = newMarker();
  const seen = watchMarker(term, marker, timeoutMs);
  term.write(` PS1='${PROMPT}'; PROMPT_COMMAND=; unset HISTFILE; ${command}\r`);
  await seen.promise;
  await quiet(term, 200, timeoutMs);
  const prompt = watchMarker(term, PROMPT, timeoutMs);
  term.write(' clear\r');
  await prompt.promise;
  await quiet(term, 200, timeoutMs);
}

/**
 * A loopback TCP proxy in front of `127.0.0.1:targetPort` that reads the server's side at most
 * `bytesPerSecond` (a token bucket of `burstBytes`: the upstream socket is paused while the
 * bucket is empty and resumed once it has refilled, so the server's socket fills up and it
 * meets real back-pressure) and writes it to the client unthrottled; client → server is not
 * throttled. Resolves with `{ url, port, stats: { toClient, toServer } (bytes), stop() }`.
 */
export async function throttlingProxy(targetPort, { bytesPerSecond = 1024 * 1024, burstBytes = 16 * 1024 } = {}) {
  const stats = { toClient: 0, toServer: 0, connections: 0 };
  const sockets = new Set();
  const server = createServer((client) => {
    stats.connections += 1;
    const upstream = connect(targetPort, '127.0.0.1');
    sockets.add(client);
    sockets.add(upstream);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    let tokens = burstBytes;
    let refilledAt = performance.now();
    let resumeTimer;
    const refill = () => {
      const now = performance.now();
      tokens = Math.min(burstBytes, tokens + ((now - refilledAt) * bytesPerSecond) / 1000);
      refilledAt = now;
    };
    upstream.on('data', (chunk) => {
      refill();
      tokens -= chunk.length;
      stats.toClient += chunk.length;
      client.write(chunk);
      if (tokens < 0) {
        upstream.pause();
        resumeTimer = setTimeout(() => {
          resumeTimer = undefined;
          upstream.resume();
        }, Math.ceil((-tokens * 1000) / bytesPerSecond));
      }
    });
    client.on('data', (chunk) => {
      stats.toServer += chunk.length;
      upstream.write(chunk);
    });
    const close = () => {
      clearTimeout(resumeTimer);
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    upstream.on('end', () => client.end());
    client.on('end', () => upstream.end());
    upstream.on('error', close);
    client.on('error', close);
    upstream.on('close', close);
    client.on('close', close);
  });
  await new Promise((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolveListen);
  });
  const { port } = server.address();
  let stopping;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    stats,
    stop() {
      stopping ??= new Promise((resolveClose) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolveClose());
      });
      return stopping;
    },
  };
}

/** Bytes as MB (10^6) with one decimal, e.g. `34.0 MB`. */
export function megabytes(bytes) {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

/** Bytes as MiB with one decimal, e.g. `12.3 MiB`. */
export function mebibytes(bytes) {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}


