// Shared helpers of the benchmarks in bench/: a real DevPocket server in a child process (so
// that its RSS and CPU time are the server's alone), sign-up, environments, Socket.IO terminal
// attach, RSS / CPU sampling of a process, and latency statistics.
//
// The server is the build in dist/ (`npm run build` first). Without DATABASE_URL in the
// environment it uses the embedded PostgreSQL under its temporary DATA_DIR.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { io } from 'socket.io-client';
import { LocalRuntime } from '../../dist/libs/runtime/src/index.js';

/** The repository root (bench/lib/../..). */
export const REPO_ROOT = resolve(import.meta.dirname, '..', '..');

const MAIN = join(REPO_ROOT, 'dist', 'apps', 'api', 'src', 'main.js');
const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 20_000;

/** Servers started by this process and not stopped yet: signalled on exit (runBenchmark stops them on SIGINT/SIGTERM through its cleanups). */
const live = new Set();

/** Resolves after `ms` milliseconds. */
export function sleep(ms) {
  return new Promise((resolveSleep) => setTimeout(resolveSleep, ms));
}

/** The integer in environment variable `name` (at least `min`), or `fallback` when unset; throws on anything else. */
export function intOption(name, fallback, min = 1) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) throw new Error(`${name} must be an integer >= ${min}, got ${JSON.stringify(raw)}`);
  return value;
}

/**
 * SIGTERM to `child`, then SIGKILL after `graceMs` if it has not exited; resolves once it has
 * exited, with whether it had to be killed. `exited` is a promise of its `exit` event.
 */
export async function terminateChild(child, exited, graceMs) {
  child.kill('SIGTERM');
  const forced = await Promise.race([exited.then(() => false), sleep(graceMs).then(() => true)]);
  if (forced) {
    child.kill('SIGKILL');
    await exited;
  }
  return forced;
}

/** A free TCP port on 127.0.0.1 (bound, read, released). */
export function freePort() {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolvePort(port));
    });
  });
}

/**
 * Sends a JSON request with fetch. `token` becomes a Bearer header, `body` is JSON-serialized.
 * Resolves with `{ status, headers, body }`, `body` parsed as JSON when it is JSON, else the text.
 */
export async function request(method, url, { token, body, headers = {} } = {}) {
  const allHeaders = { ...headers };
  if (token) allHeaders.authorization = `Bearer ${token}`;
  if (body !== undefined) allHeaders['content-type'] = 'application/json';
  const response = await fetch(url, { method, headers: allHeaders, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  let parsed = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // Not JSON: the raw text is the body.
  }
  return { status: response.status, headers: response.headers, body: parsed };
}

/**
 * Starts the real DevPocket server as a child process (`node dist/apps/api/src/main.js`) on a
 * free loopback port, with a fresh temporary DATA_DIR, quiet logs, generous rate and plan limits,
 * and the repository's templates, NODE_ENV=production. `env` adds or overrides configuration variables; `nodeArgs`
 * are extra node options (e.g. `['--cpu-prof']` to profile the server).
 * DATABASE_URL is used only when set in this process's environment.
 *
 * Resolves once GET /api/v1/health/ready answers 200 (rejects with the child's stderr when it
 * exits first or is not ready within 60 s) with:
 * - `url`: `http://127.0.0.1:<port>`; `api`: `<url>/api/v1`
 * - `pid`: the server process id (for {@link rssSampler} and {@link cpuTimeMs})
 * - `dataDir`: its DATA_DIR
 * - `stop()`: SIGTERM, wait for exit (SIGKILL after 20 s), kill the tmux servers the local
 *   runtime started, remove the data dir. Idempotent.
 * - `logs`: `{ stdout, stderr }`, the last 20 kB of each (diagnostics)
 */
export async function startDevPocket({ env = {}, nodeArgs = [] } = {}) {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` first`);
  const dataDir = await mkdtemp(join(tmpdir(), 'devpocket-bench-'));
  // Run as root, the embedded PostgreSQL runs as `postgres`: the data dir must be traversable.
  await chmod(dataDir, 0o755);
  const port = await freePort();
  const childEnv = { ...process.env };
  delete childEnv.DATABASE_URL;
  if (process.env.DATABASE_URL) childEnv.DATABASE_URL = process.env.DATABASE_URL;
  Object.assign(childEnv, {
    NODE_ENV: 'production',
    DATA_DIR: dataDir,
    HOST: '127.0.0.1',
    PORT: String(port),
    LOG_LEVEL: 'error',
    TEMPLATES_DIR: join(REPO_ROOT, 'templates'),
    JWT_SECRET: randomBytes(32).toString('hex'),
    RATE_LIMIT_PER_MINUTE: '10000000',
    AUTH_RATE_LIMIT_PER_MINUTE: '10000000',
    AUTH_IP_RATE_LIMIT_PER_MINUTE: '10000000',
    FREE_MAX_ENVIRONMENTS: '50',
    FREE_MAX_CPU: '8',
    FREE_MAX_MEMORY: '32Gi',
    FREE_MAX_STORAGE: '200Gi',
    TERMINAL_MAX_CONNECTIONS_PER_USER: '1000',
    ...env,
  });

  const child = spawn(process.execPath, [...nodeArgs, MAIN], { cwd: REPO_ROOT, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let stdout = '';
  child.stdout.setEncoding('utf8').on('data', (chunk) => (stdout = (stdout + chunk).slice(-20_000)));
  child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr = (stderr + chunk).slice(-20_000)));
  const exited = new Promise((resolveExit) => child.once('exit', (code, signal) => resolveExit({ code, signal })));
  let exitStatus;
  exited.then((status) => (exitStatus = status));

  const url = `http://127.0.0.1:${port}`;
  const api = `${url}/api/v1`;
  let stopping;
  const instance = {
    url,
    api,
    pid: child.pid,
    dataDir,
    stop() {
      stopping ??= (async () => {
        live.delete(instance);
        if (exitStatus === undefined && (await terminateChild(child, exited, STOP_TIMEOUT_MS))) await killEmbeddedPostgres(dataDir);
        const runtime = new LocalRuntime({ dataDir, socketDir: childEnv.TMUX_SOCKET_DIR });
        await runtime.killAllServers();
        await rm(runtime.socketDir, { recursive: true, force: true });
        await rm(dataDir, { recursive: true, force: true });
      })();
      return stopping;
    },
    /** The last 20 kB of the child's stdout and stderr (diagnostics). */
    get logs() {
      return { stdout, stderr };
    },
  };
  live.add(instance);

  try {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      if (exitStatus !== undefined) {
        throw new Error(`the DevPocket server exited (${exitStatus.signal ?? `code ${exitStatus.code}`}) before it was ready:\n${stderr || stdout}`);
      }
      const status = await fetch(`${api}/health/ready`).then((response) => response.status, () => 0);
      if (status === 200) break;
      if (Date.now() > deadline) throw new Error(`the DevPocket server was not ready within ${READY_TIMEOUT_MS / 1000} s (last status ${status}):\n${stderr || stdout}`);
      await sleep(100);
    }
  } catch (error) {
    await instance.stop().catch(() => undefined);
    throw error;
  }
  return instance;
}

/** After a SIGKILL of the server: stops the embedded PostgreSQL it left behind (postmaster.pid under DATA_DIR/postgres). */
async function killEmbeddedPostgres(dataDir) {
  try {
    const pid = Number((await readFile(join(dataDir, 'postgres', 'postmaster.pid'), 'utf8')).split('\n')[0]);
    if (pid > 0) process.kill(pid, 'SIGQUIT');
    for (let i = 0; i < 50; i += 1) {
      process.kill(pid, 0);
      await sleep(100);
    }
  } catch {
    // No pid file, or the process is gone.
  }
}

// Last resort when the benchmark exits without stopping its servers: ask them to shut down
// (they stop their embedded PostgreSQL; tmux servers and the data dir may be left behind).
process.on('exit', () => {
  for (const instance of live) {
    try {
      process.kill(instance.pid, 'SIGTERM');
    } catch {
      // Already gone.
    }
  }
});

/**
 * Registers a fresh user (POST /auth/register, random username and email).
 * Resolves with the AuthResult: `{ accessToken, refreshToken, user, ... }`.
 */
export async function signUp(api) {
  const name = `bench${randomBytes(5).toString('hex')}`;
  const response = await request('POST', `${api}/auth/register`, { body: { email: `${name}@example.com`, username: name, password: 'correct horse battery staple' } });
  if (response.status !== 201) throw new Error(`register: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body;
}

const templateIds = new Map();

/**
 * Creates an environment named `name` from the template named `template` and polls
 * (every 50 ms, up to `timeoutMs`) until it is running. Resolves with the Environment (API.md).
 */
export async function createRunningEnvironment(api, token, name, template = 'ubuntu', { timeoutMs = 60_000 } = {}) {
  const key = `${api} ${template}`;
  if (!templateIds.has(key)) {
    const templates = await request('GET', `${api}/templates?q=${encodeURIComponent(template)}`, { token });
    const found = templates.body?.items?.find((item) => item.name === template);
    if (!found) throw new Error(`template ${template} not found: ${templates.status} ${JSON.stringify(templates.body)}`);
    templateIds.set(key, found.id);
  }
  const created = await request('POST', `${api}/environments`, { token, body: { name, templateId: templateIds.get(key) } });
  if (created.status !== 201) throw new Error(`create environment ${name}: ${created.status} ${JSON.stringify(created.body)}`);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const current = await request('GET', `${api}/environments/${created.body.id}`, { token });
    if (current.status === 200 && current.body.status === 'running') return current.body;
    if (current.body?.status === 'error' || Date.now() > deadline) {
      throw new Error(`environment ${name} did not start: ${current.status} ${JSON.stringify(current.body)}`);
    }
    await sleep(50);
  }
}

/**
 * Samples the resident set size (VmRSS of /proc/<pid>/status) every `intervalMs` ms.
 * `stop()` returns `{ baselineBytes, peakBytes, growthBytes, lastBytes, samples }` in bytes;
 * the baseline is the first sample (taken at once), growth = peak − baseline.
 */
export function rssSampler(pid, intervalMs = 20) {
  const read = () => {
    try {
      const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      return match ? Number(match[1]) * 1024 : undefined;
    } catch {
      return undefined; // The process is gone.
    }
  };
  const baselineBytes = read() ?? 0;
  let peakBytes = baselineBytes;
  let lastBytes = baselineBytes;
  let samples = 1;
  const timer = setInterval(() => {
    const value = read();
    if (value === undefined) return;
    samples += 1;
    lastBytes = value;
    if (value > peakBytes) peakBytes = value;
  }, intervalMs);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      const value = read();
      if (value !== undefined) {
        lastBytes = value;
        if (value > peakBytes) peakBytes = value;
      }
      return { baselineBytes, peakBytes, growthBytes: peakBytes - baselineBytes, lastBytes, samples };
    },
  };
}

/** USER_HZ, the unit of /proc/<pid>/stat times: 100 on every Linux architecture Node supports. */
const CLOCK_TICKS = 100;

/**
 * CPU time used so far by process `pid` (utime + stime of /proc/<pid>/stat), in milliseconds:
 * `{ userMs, systemMs, totalMs }`. Children's time is not included.
 */
export function cpuTimeMs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may contain spaces: fields are counted after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const userMs = (Number(fields[11]) * 1000) / CLOCK_TICKS;
  const systemMs = (Number(fields[12]) * 1000) / CLOCK_TICKS;
  return { userMs, systemMs, totalMs: userMs + systemMs };
}

/**
 * CPU time used so far by the direct children of process `pid` that are alive now, summed, in
 * milliseconds: `{ userMs, systemMs, totalMs, runMs, processes }`. user/system/total come from
 * /proc/<pid>/stat (10 ms ticks, all threads); `runMs` from /proc/<pid>/schedstat (ns resolution,
 * main thread only: exact for single-threaded processes such as tmux). With `command`, only the children
 * whose command name (/proc/<pid>/stat `comm`) starts with it, e.g. `'tmux'` for the tmux
 * clients the server runs in its PTYs (the embedded PostgreSQL is a child too).
 */
export function childrenCpuTimeMs(pid, { command } = {}) {
  let userMs = 0;
  let systemMs = 0;
  let runMs = 0;
  let processes = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // Gone meanwhile.
    }
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[1]) !== pid) continue;
    if (command !== undefined && !stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')).startsWith(command)) continue;
    processes += 1;
    userMs += (Number(fields[11]) * 1000) / CLOCK_TICKS;
    systemMs += (Number(fields[12]) * 1000) / CLOCK_TICKS;
    try {
      runMs += Number(readFileSync(`/proc/${entry}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
    } catch {
      // Gone meanwhile, or no schedstat (kernel without CONFIG_SCHEDSTATS).
    }
  }
  return { userMs, systemMs, totalMs: userMs + systemMs, runMs, processes };
}

/**
 * Statistics of latency samples in milliseconds: `{ count, median, p95, p99, min, max }`
 * (percentiles by nearest rank, rounded to µs). An empty list gives count 0 and NaN elsewhere.
 */
export function summarize(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  const n = sorted.length;
  if (n === 0) return { count: 0, median: NaN, p95: NaN, p99: NaN, min: NaN, max: NaN };
  const rank = (p) => sorted[Math.min(n - 1, Math.max(0, Math.ceil(p * n) - 1))];
  const round = (value) => Number(value.toFixed(3));
  return { count: n, median: round(median(sorted)), p95: round(rank(0.95)), p99: round(rank(0.99)), min: round(sorted[0]), max: round(sorted[n - 1]) };
}

/** One line `label: count n  median x ms  p95 … p99 … min … max …` of {@link summarize}'s result. */
export function formatStats(label, stats) {
  const ms = (value) => value.toFixed(3);
  return `${label}: count ${stats.count}  median ${ms(stats.median)} ms  p95 ${ms(stats.p95)} ms  p99 ${ms(stats.p99)} ms  min ${ms(stats.min)} ms  max ${ms(stats.max)} ms`;
}

/** The text a person would see in a terminal output chunk: escape sequences and control characters removed. */
export function visible(chunk) {
  return chunk
    .replace(/\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)/g, '')
    .replace(/\x1b\[[0-?]*[ -/]*[@-~]/g, '')
    .replace(/\x1b[()][0-9A-Za-z]/g, '')
    .replace(/\x1b[=>78DEHMc]/g, '')
    .replace(/[\x00-\x1f\x7f]/g, '');
}

/**
 * Connects a socket.io-client socket to `<url>/terminal` (websocket transport, a connection of
 * its own, no reconnection) with `auth: { token }` and attaches it to `environmentId` at
 * `cols`×`rows`. Resolves with the socket once the `attach` ack is a success; the ack
 * (`{ sessionId, seq, resume, readOnly }`) is on `socket.attachAck`. Rejects (and closes the
 * socket) on `connect_error`, on an `{ error }` ack, or after `timeoutMs` ms.
 *
 * Options: `autoAck` (default true) answers every `output` with `ack { seq }`; `onOutput(data, seq)`
 * is installed before the attach, so it sees the first screen too; `attach` adds fields to the
 * attach payload (`sessionId`, `lastSeq`, `readOnly`).
 */
export function attachSocket(url, token, environmentId, { cols = 80, rows = 24, autoAck = true, onOutput, attach = {}, timeoutMs = 30_000 } = {}) {
  const socket = io(`${url}/terminal`, { auth: { token }, transports: ['websocket'], reconnection: false, forceNew: true, timeout: timeoutMs });
  if (onOutput) socket.on('output', ({ data, seq }) => onOutput(data, seq));
  if (autoAck) socket.on('output', ({ seq }) => socket.emit('ack', { seq }));
  return new Promise((resolveAttach, reject) => {
    const fail = (error) => {
      socket.close();
      reject(error);
    };
    socket.once('connect_error', (error) => fail(new Error(`terminal connect: ${error.message}`)));
    socket.once('connect', () => {
      socket.off('connect_error');
      socket.timeout(timeoutMs).emit('attach', { environmentId, cols, rows, ...attach }, (error, ack) => {
        if (error) return fail(new Error(`attach: no ack within ${timeoutMs} ms`));
        if (ack?.error) return fail(new Error(`attach: ${ack.error.code} ${ack.error.message}`));
        socket.attachAck = ack;
        resolveAttach(socket);
      });
    });
  });
}

/** The median of a list of numbers (NaN when empty). */
export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  if (n === 0) return NaN;
  return n % 2 === 1 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
}

/**
 * Runs `main(cleanups)`, then every function pushed on `cleanups`, last first, also when `main`
 * threw or on SIGINT/SIGTERM; exits 1 when anything failed, else 0.
 */
export async function runBenchmark(name, main) {
  const cleanups = [];
  let failed = false;
  let cleaning;
  const cleanAll = async () => {
    cleaning ??= (async () => {
      for (const cleanup of cleanups.reverse()) {
        try {
          await cleanup();
        } catch (error) {
          failed = true;
          console.error(`${name}: cleanup failed: ${error?.stack ?? error}`);
        }
      }
    })();
    return cleaning;
  };
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.prependListener(signal, () => {
      console.error(`${name}: ${signal}, cleaning up`);
      cleanAll().finally(() => process.exit(130));
    });
  }
  try {
    await main(cleanups);
  } catch (error) {
    failed = true;
    console.error(`${name} failed: ${error?.stack ?? error}`);
  }
  await cleanAll();
  process.exit(failed ? 1 : 0);
}
