#!/usr/bin/env node
// Keystroke round trip of the terminal: one printable character sent as Socket.IO `input`,
// through the gateway, the PTY and tmux to the shell, whose echo comes back as `output`.
// The floor is the same keystrokes on a node-pty running a tmux client directly, in-process.
//
// Run with `npm run bench:terminal-echo` (builds first; this script imports the build in dist/).
// Uses the embedded PostgreSQL under a temporary DATA_DIR unless DATABASE_URL is set.
import 'reflect-metadata';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import pty from 'node-pty';
import { io } from 'socket.io-client';
import { startServer } from '../dist/apps/api/src/bootstrap.js';
import { loadConfig } from '../dist/apps/api/src/config/app-config.js';
import { LocalRuntime } from '../dist/libs/runtime/src/index.js';

const KEYSTROKES = 1000;
const WARMUP = 50;
/** Ctrl-U (readline's unix-line-discard) every this many keystrokes, so the line never wraps. */
const CLEAR_EVERY = 40;
/** Longest wait for one echo, in milliseconds; a lost echo fails the run rather than hanging it. */
const ECHO_TIMEOUT_MS = 5000;
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz';

const execFileAsync = promisify(execFile);

/** The text a person would see in an output chunk: escape sequences and control characters removed. */
function visible(chunk) {
  return chunk
    .replace(/\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)/g, '')
    .replace(/\x1b\[[0-?]*[ -/]*[@-~]/g, '')
    .replace(/\x1b[()][0-9A-Za-z]/g, '')
    .replace(/\x1b[=>78DEHMc]/g, '')
    .replace(/[\x00-\x1f\x7f]/g, '');
}

/**
 * Wraps a terminal's output events: `expect(predicate)` resolves with the time the first chunk
 * matching the predicate arrived; `quiet(ms)` resolves once no output came for `ms`.
 */
function outputWatcher() {
  let waiter;
  let lastOutputAt = performance.now();
  return {
    onOutput(chunk) {
      const at = performance.now();
      lastOutputAt = at;
      if (waiter && waiter.predicate(chunk)) {
        const { resolveWait, timer } = waiter;
        waiter = undefined;
        clearTimeout(timer);
        resolveWait(at);
      }
    },
    expect(predicate, what) {
      return new Promise((resolveWait, reject) => {
        const timer = setTimeout(() => {
          waiter = undefined;
          reject(new Error(`no ${what} within ${ECHO_TIMEOUT_MS} ms`));
        }, ECHO_TIMEOUT_MS);
        waiter = { predicate, resolveWait, timer };
      });
    },
    async quiet(ms) {
      while (performance.now() - lastOutputAt < ms) await new Promise((resolveWait) => setTimeout(resolveWait, ms));
    },
  };
}

/**
 * Sends WARMUP + KEYSTROKES printable characters one at a time through `write`, each after the
 * echo of the previous one, and returns the round trips of the counted ones in milliseconds.
 */
async function measure(write, watcher) {
  const samples = [];
  for (let i = 0; i < WARMUP + KEYSTROKES; i += 1) {
    if (i > 0 && i % CLEAR_EVERY === 0) {
      const cleared = watcher.expect(() => true, 'redraw after Ctrl-U');
      write('\x15');
      await cleared;
      await watcher.quiet(20);
    }
    const key = ALPHABET[i % ALPHABET.length];
    const echoed = watcher.expect((chunk) => visible(chunk).includes(key), `echo of ${JSON.stringify(key)} (keystroke ${i})`);
    const sentAt = performance.now();
    write(key);
    const echoedAt = await echoed;
    if (i >= WARMUP) samples.push(echoedAt - sentAt);
  }
  write('\x15');
  return samples;
}

/** count, median, p95, p99 (nearest rank), min and max of the samples, in milliseconds. */
function summarize(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  const n = sorted.length;
  const rank = (p) => sorted[Math.min(n - 1, Math.max(0, Math.ceil(p * n) - 1))];
  const median = n % 2 === 1 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  const round = (value) => Number(value.toFixed(3));
  return { count: n, median: round(median), p95: round(rank(0.95)), p99: round(rank(0.99)), min: round(sorted[0]), max: round(sorted[n - 1]) };
}

function line(label, stats) {
  const ms = (value) => value.toFixed(3);
  return `${label}: count ${stats.count}  median ${ms(stats.median)} ms  p95 ${ms(stats.p95)} ms  p99 ${ms(stats.p99)} ms  min ${ms(stats.min)} ms  max ${ms(stats.max)} ms`;
}

async function json(method, url, { token, body } = {}) {
  const headers = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

/** DevPocket's path: socket.io-client → /terminal gateway → node-pty → tmux client → tmux server → shell. */
async function benchDevPocket(cleanups) {
  const dataDir = await mkdtemp(join(tmpdir(), 'devpocket-bench-'));
  cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
  // Run as root, the embedded PostgreSQL runs as `postgres`: its parents must be traversable.
  await chmod(dataDir, 0o755);
  const config = loadConfig({
    ...(process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL } : {}),
    DATA_DIR: dataDir,
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'error',
    TEMPLATES_DIR: resolve(import.meta.dirname, '..', 'templates'),
    JWT_SECRET: randomBytes(32).toString('hex'),
  });
  const runtime = new LocalRuntime({ dataDir: config.dataDir, socketDir: config.TMUX_SOCKET_DIR });
  cleanups.push(async () => {
    await runtime.killAllServers();
    await rm(runtime.socketDir, { recursive: true, force: true });
  });
  const server = await startServer(config);
  cleanups.push(() => server.stop());
  const api = `${server.url}/api/v1`;

  const name = `bench${randomBytes(4).toString('hex')}`;
  const registered = await json('POST', `${api}/auth/register`, { body: { email: `${name}@example.com`, username: name, password: 'correct horse battery' } });
  if (registered.status !== 201) throw new Error(`register: ${registered.status} ${JSON.stringify(registered.body)}`);
  const token = registered.body.accessToken;
  const templates = await json('GET', `${api}/templates?q=ubuntu`, { token });
  const template = templates.body.items.find((item) => item.name === 'ubuntu');
  const created = await json('POST', `${api}/environments`, { token, body: { name: 'bench', templateId: template.id } });
  if (created.status !== 201) throw new Error(`create environment: ${created.status} ${JSON.stringify(created.body)}`);
  const deadline = Date.now() + 15_000;
  for (;;) {
    const env = await json('GET', `${api}/environments/${created.body.id}`, { token });
    if (env.body.status === 'running') break;
    if (env.body.status === 'error' || Date.now() > deadline) throw new Error(`environment did not start: ${JSON.stringify(env.body)}`);
    await new Promise((resolveWait) => setTimeout(resolveWait, 50));
  }

  const socket = io(`${server.url}/terminal`, { auth: { token }, transports: ['websocket'], reconnection: false });
  cleanups.push(() => socket.close());
  await new Promise((resolveConnect, reject) => {
    socket.once('connect', resolveConnect);
    socket.once('connect_error', reject);
  });
  const watcher = outputWatcher();
  socket.on('output', ({ data }) => watcher.onOutput(data));
  const ack = await socket.timeout(10_000).emitWithAck('attach', { environmentId: created.body.id, cols: 80, rows: 24 });
  if (ack.error) throw new Error(`attach: ${JSON.stringify(ack.error)}`);
  await watcher.quiet(200); // the first screen and the prompt
  return measure((data) => socket.emit('input', { data }), watcher);
}

/** The floor: node-pty → tmux client → tmux server → shell, in this process, with DevPocket's tmux options. */
async function benchFloor(cleanups) {
  const dir = await mkdtemp(join(tmpdir(), 'devpocket-bench-floor-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const socket = join(dir, 'tmux.sock');
  const conf = join(dir, 'tmux.conf');
  await writeFile(conf, ['set -g status off', 'set -g window-size latest', 'set -s escape-time 0', 'set -s exit-empty on', ''].join('\n'));
  cleanups.push(() => execFileAsync('tmux', ['-S', socket, 'kill-server']).catch(() => undefined));
  const env = { PATH: process.env.PATH, HOME: dir, LANG: 'C.UTF-8', TERM: 'xterm-256color' };
  const shell = ['/bin/bash', '/usr/bin/bash'].find((candidate) => existsSync(candidate)) ?? '/bin/sh';
  const client = pty.spawn('tmux', ['-S', socket, '-f', conf, 'new-session', '-A', '-s', 'floor', '-x', '80', '-y', '24', '-c', dir, shell], {
    name: 'xterm-256color',
    cols: 80,
    rows: 24,
    cwd: dir,
    env,
  });
  cleanups.push(() => client.kill('SIGHUP'));
  const watcher = outputWatcher();
  client.onData((data) => watcher.onOutput(data));
  await watcher.expect(() => true, 'first screen');
  await watcher.quiet(200);
  return measure((data) => client.write(data), watcher);
}

async function main() {
  const cleanups = [];
  let failed = false;
  try {
    const devpocket = summarize(await benchDevPocket(cleanups));
    const floor = summarize(await benchFloor(cleanups));
    const ratio = { median: Number((devpocket.median / floor.median).toFixed(3)), p99: Number((devpocket.p99 / floor.p99).toFixed(3)) };
    console.log(`terminal echo: ${KEYSTROKES} keystrokes, ${WARMUP} warm-up keystrokes not counted, times in ms`);
    console.log(line('devpocket (socket.io -> pty -> tmux)', devpocket));
    console.log(line('floor (node-pty -> tmux)          ', floor));
    console.log(`ratio devpocket/floor: median ${ratio.median.toFixed(3)}  p99 ${ratio.p99.toFixed(3)}`);
    console.log(JSON.stringify({ benchmark: 'terminal-echo', keystrokes: KEYSTROKES, warmup: WARMUP, unit: 'ms', devpocket, floor, ratio }));
  } catch (error) {
    failed = true;
    console.error(`terminal-echo failed: ${error?.stack ?? error}`);
  } finally {
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch (error) {
        failed = true;
        console.error(`cleanup failed: ${error?.stack ?? error}`);
      }
    }
  }
  process.exit(failed ? 1 : 0);
}

await main();
