#!/usr/bin/env node
// Many concurrent terminals: TERMINALS Socket.IO terminals attached at once, each typing one
// printable keystroke a second for SECONDS seconds (staggered over the second, so keystrokes
// arrive evenly), each keystroke's round trip measured from `input` to its echo in that
// terminal's `output`. Target: p99 under 50 ms with 200 terminals on a 2-core machine.
//
// Each terminal has an environment of its own (its own tmux server and shell), so every echo
// belongs to exactly one terminal; in a shared environment every client of the tmux session
// would see the same window. The environments are created (and their creation timed) before
// the measurement.
//
// The floor, in the same run: the same keystrokes on the same tmux sessions and shells, through
// TERMINALS node-pty tmux clients in this process (DevPocket's Socket.IO clients closed first),
// i.e. everything but the server's Socket.IO gateway and PTY relay.
//
// Also reported: keystrokes sent and lost (no echo within 5 s), the server's RSS (before
// attaching, at the start of the measurement, peak during it), and CPU time during the measured
// seconds: the server process (and its rate with the terminals attached but idle), the tmux
// servers and shells, and this process.
//
// Run with `npm run bench:concurrent` (builds first), or `node bench/concurrent-terminals.mjs`
// after `npm run build`.
// Options (environment variables): BENCH_TERMINALS (200), BENCH_SECONDS (30, measured), BENCH_WARMUP_SECONDS (2,
// typed first, not counted), BENCH_CREATE_CONCURRENCY (8, environments created in parallel).
import { readdirSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import pty from 'node-pty';
import { LocalRuntime } from '../dist/libs/runtime/src/index.js';
import {
  intOption,
  runBenchmark,
  sleep,
  attachSocket,
  cpuTimeMs,
  createRunningEnvironment,
  formatStats,
  rssSampler,
  signUp,
  startDevPocket,
  summarize,
  visible,
} from './lib/server.mjs';

const TERMINALS = intOption('BENCH_TERMINALS', 200);
const SECONDS = intOption('BENCH_SECONDS', 30);
const WARMUP_SECONDS = intOption('BENCH_WARMUP_SECONDS', 2, 0);
const CREATE_CONCURRENCY = intOption('BENCH_CREATE_CONCURRENCY', 8);
/** Seconds the attached terminals stay idle before typing, to measure the server's idle CPU. */
const IDLE_SECONDS = 5;
const ATTACH_CONCURRENCY = 20;
/** A keystroke whose echo has not come back after this many milliseconds is lost. */
const ECHO_TIMEOUT_MS = 5000;
/** Ctrl-U (readline's unix-line-discard) after every this many echoes, so the line never wraps. */
const CLEAR_EVERY = 20;
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz';
const COLS = 80;
const ROWS = 24;
const MiB = 1024 * 1024;


/** Runs `task(item, index)` over `items`, at most `limit` at a time; resolves with the results in order. */
async function mapLimit(items, limit, task) {
  const results = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index], index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/**
 * One terminal's typing: keystrokes in flight (in order; consecutive keys differ, and fewer than
 * 26 can be in flight, so a character of the output names its keystroke), round trips of the
 * counted ones, and the lost ones.
 */
class Typist {
  constructor(index, write) {
    this.index = index;
    this.write = write;
    this.pending = [];
    this.samples = [];
    this.sent = 0;
    this.lost = 0;
    this.echoed = 0;
    this.lastOutputAt = performance.now();
  }

  /** Types keystroke number `n` (counted unless warm-up). */
  type(n, counted) {
    this.expire();
    const key = ALPHABET[(this.index + n) % ALPHABET.length];
    this.pending.push({ key, sentAt: performance.now(), counted });
    if (counted) this.sent += 1;
    this.write(key);
  }

  onOutput(data) {
    const at = performance.now();
    this.lastOutputAt = at;
    if (this.pending.length === 0) return;
    for (const char of visible(data)) {
      const position = this.pending.findIndex((keystroke) => keystroke.key === char);
      if (position < 0) continue;
      // Echoes come back in order: the keystrokes before this one will not be echoed any more.
      for (const skipped of this.pending.slice(0, position)) if (skipped.counted) this.lost += 1;
      const [keystroke] = this.pending.splice(0, position + 1).slice(-1);
      if (keystroke.counted) this.samples.push(at - keystroke.sentAt);
      this.echoed += 1;
      if (this.echoed % CLEAR_EVERY === 0) this.write('\x15');
      if (this.pending.length === 0) return;
    }
  }

  /** Counts as lost the keystrokes in flight for longer than ECHO_TIMEOUT_MS. */
  expire(now = performance.now()) {
    while (this.pending.length > 0 && now - this.pending[0].sentAt > ECHO_TIMEOUT_MS) {
      if (this.pending.shift().counted) this.lost += 1;
    }
  }
}

/**
 * Every typist types one keystroke a second for WARMUP_SECONDS + SECONDS seconds, typist i
 * offset by i/N of a second; then waits for the last echoes. Each send is scheduled from the
 * start time (no drift); the round trip starts when the keystroke is actually written.
 */
async function typeAll(typists, onMeasuredStart) {
  const total = WARMUP_SECONDS + SECONDS;
  const start = performance.now() + 100;
  let measuredStarted = false;
  await Promise.all(
    typists.map(async (typist, i) => {
      const offset = (i * 1000) / typists.length;
      for (let n = 0; n < total; n += 1) {
        const due = start + offset + n * 1000;
        const wait = due - performance.now();
        if (wait > 0) await sleep(wait);
        const counted = n >= WARMUP_SECONDS;
        if (counted && !measuredStarted) {
          measuredStarted = true;
          onMeasuredStart?.();
        }
        typist.type(n, counted);
      }
    }),
  );
  const deadline = performance.now() + ECHO_TIMEOUT_MS + 100;
  while (typists.some((typist) => typist.pending.length > 0) && performance.now() < deadline) await sleep(20);
  for (const typist of typists) typist.expire(Number.POSITIVE_INFINITY);
}

/** Resolves once no typist got output for `ms` milliseconds (the first screens have settled). */
async function quiet(typists, ms, timeoutMs = 10_000) {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const last = Math.max(...typists.map((typist) => typist.lastOutputAt));
    if (performance.now() - last >= ms) return;
    await sleep(ms / 4);
  }
}

function totals(typists) {
  const samples = typists.flatMap((typist) => typist.samples);
  const sent = typists.reduce((sum, typist) => sum + typist.sent, 0);
  const lost = typists.reduce((sum, typist) => sum + typist.lost, 0);
  return { stats: summarize(samples), sent, lost };
}

const mib = (bytes) => (bytes / MiB).toFixed(1);

/**
 * CPU time (ms, /proc/<pid>/schedstat: ns resolution, single-threaded processes) used so far by
 * the environments of `dataDir`: their tmux servers (daemons, whose command line names the
 * environment's tmux.conf under `dataDir`) and the servers' children (the shells). The tmux
 * clients are left out: a tmux client hands its terminal to the server and then sits idle.
 */
function environmentsCpuMs(dataDir) {
  const processes = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      const runMs = Number(readFileSync(`/proc/${entry}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
      processes.push({ pid: Number(entry), ppid, cmdline, runMs });
    } catch {
      // Gone meanwhile.
    }
  }
  const servers = new Set(
    processes.filter((p) => p.cmdline.startsWith('tmux\0') && p.cmdline.includes(dataDir) && !p.cmdline.includes('\0attach-session\0')).map((p) => p.pid),
  );
  const counted = processes.filter((p) => servers.has(p.pid) || servers.has(p.ppid));
  return { runMs: counted.reduce((sum, p) => sum + p.runMs, 0), tmuxServers: servers.size, processes: counted.length };
}

await runBenchmark('concurrent-terminals', async (cleanups) => {
  const wallStart = performance.now();
  const server = await startDevPocket({ env: { FREE_MAX_ENVIRONMENTS: String(Math.max(50, TERMINALS)), TERMINAL_MAX_CONNECTIONS_PER_USER: String(Math.max(1000, TERMINALS)) } });
  cleanups.push(() => server.stop());
  const { accessToken } = await signUp(server.api);

  // Environments: one per terminal.
  const createStart = performance.now();
  const environments = await mapLimit(Array.from({ length: TERMINALS }, (_, i) => `term${i}`), CREATE_CONCURRENCY, (name) =>
    createRunningEnvironment(server.api, accessToken, name),
  );
  const createSeconds = (performance.now() - createStart) / 1000;
  console.error(`created ${TERMINALS} environments in ${createSeconds.toFixed(1)} s`);

  // DevPocket: TERMINALS Socket.IO terminals.
  const rssBeforeAttach = rssSampler(server.pid).stop().baselineBytes;
  const devpocketTypists = [];
  const sockets = [];
  cleanups.push(() => sockets.forEach((socket) => socket.close()));
  const attachStart = performance.now();
  await mapLimit(environments, ATTACH_CONCURRENCY, async (environment, i) => {
    const typist = new Typist(i, (data) => socket.emit('input', { data }));
    devpocketTypists[i] = typist;
    const socket = await attachSocket(server.url, accessToken, environment.id, { cols: COLS, rows: ROWS, onOutput: (data) => typist.onOutput(data) });
    sockets.push(socket);
  });
  const attachSeconds = (performance.now() - attachStart) / 1000;
  await quiet(devpocketTypists, 500);
  // The server's CPU with every terminal attached and idle: what the typing adds is above it.
  const idleStart = cpuTimeMs(server.pid).totalMs;
  const idleAt = performance.now();
  await sleep(IDLE_SECONDS * 1000);
  const idleSeconds = (performance.now() - idleAt) / 1000;
  const idleCpuMs = cpuTimeMs(server.pid).totalMs - idleStart;
  console.error(`attached ${TERMINALS} Socket.IO terminals in ${attachSeconds.toFixed(1)} s; typing for ${WARMUP_SECONDS} + ${SECONDS} s`);

  let sampler;
  let cpuStart;
  let selfStart;
  let environmentsStart;
  let measuredAt;
  await typeAll(devpocketTypists, () => {
    sampler = rssSampler(server.pid);
    cpuStart = cpuTimeMs(server.pid);
    selfStart = cpuTimeMs(process.pid);
    environmentsStart = environmentsCpuMs(server.dataDir);
    measuredAt = performance.now();
  });
  const measuredSeconds = (performance.now() - measuredAt) / 1000;
  const rss = sampler.stop();
  const serverCpuMs = cpuTimeMs(server.pid).totalMs - cpuStart.totalMs;
  const selfCpuMs = cpuTimeMs(process.pid).totalMs - selfStart.totalMs;
  const environmentsAfter = environmentsCpuMs(server.dataDir);
  const environmentsMs = environmentsAfter.runMs - environmentsStart.runMs;
  const devpocket = totals(devpocketTypists);
  for (const socket of sockets.splice(0)) socket.close();

  // Floor: node-pty tmux clients of the same sessions, in this process.
  const runtime = new LocalRuntime({ dataDir: server.dataDir });
  const clients = [];
  cleanups.push(() => clients.forEach((client) => client.kill('SIGHUP')));
  const floorTypists = environments.map((environment, i) => {
    const paths = runtime.paths(environment);
    const client = pty.spawn('tmux', ['-S', paths.socket, '-f', paths.tmuxConf, 'attach-session', '-t', `=devpocket_${environment.id}`], {
      name: 'xterm-256color',
      cols: COLS,
      rows: ROWS,
      cwd: paths.home,
      env: { PATH: process.env.PATH, HOME: paths.home, LANG: 'C.UTF-8', TERM: 'xterm-256color' },
    });
    clients.push(client);
    const typist = new Typist(i, (data) => client.write(data));
    client.onData((data) => typist.onOutput(data));
    return typist;
  });
  await sleep(500);
  await quiet(floorTypists, 500);
  // Start from an empty line, as the DevPocket terminals did.
  for (const client of clients) client.write('\x15');
  await quiet(floorTypists, 300);
  console.error(`attached ${TERMINALS} node-pty tmux clients; typing for ${WARMUP_SECONDS} + ${SECONDS} s`);
  let floorEnvironmentsStart;
  let floorSelfStart;
  let floorAt;
  await typeAll(floorTypists, () => {
    floorEnvironmentsStart = environmentsCpuMs(server.dataDir);
    floorSelfStart = cpuTimeMs(process.pid);
    floorAt = performance.now();
  });
  const floorSeconds = (performance.now() - floorAt) / 1000;
  const floorEnvironmentsMs = environmentsCpuMs(server.dataDir).runMs - floorEnvironmentsStart.runMs;
  const floorSelfCpuMs = cpuTimeMs(process.pid).totalMs - floorSelfStart.totalMs;
  const floor = totals(floorTypists);
  for (const client of clients.splice(0)) client.kill('SIGHUP');

  const ratio = {
    median: Number((devpocket.stats.median / floor.stats.median).toFixed(3)),
    p95: Number((devpocket.stats.p95 / floor.stats.p95).toFixed(3)),
    p99: Number((devpocket.stats.p99 / floor.stats.p99).toFixed(3)),
  };
  const percentOfCore = (ms, seconds) => ((ms / 10 / seconds) || 0).toFixed(1);
  console.log(
    `concurrent terminals: ${TERMINALS} terminals (one environment each), 1 keystroke/s each for ${SECONDS} s (+${WARMUP_SECONDS} s warm-up not counted), times in ms`,
  );
  console.log(`setup: ${TERMINALS} environments created in ${createSeconds.toFixed(1)} s (${CREATE_CONCURRENCY} at a time), ${TERMINALS} Socket.IO attaches in ${attachSeconds.toFixed(1)} s`);
  console.log(formatStats('devpocket (socket.io -> pty -> tmux)', devpocket.stats));
  console.log(formatStats('floor (node-pty -> tmux)          ', floor.stats));
  console.log(`ratio devpocket/floor: median ${ratio.median.toFixed(3)}  p95 ${ratio.p95.toFixed(3)}  p99 ${ratio.p99.toFixed(3)}`);
  console.log(`keystrokes: devpocket sent ${devpocket.sent} lost ${devpocket.lost}; floor sent ${floor.sent} lost ${floor.lost}`);
  console.log(
    `server RSS: ${mib(rssBeforeAttach)} MiB before attaching, ${mib(rss.baselineBytes)} MiB attached at the start of the measurement, peak ${mib(rss.peakBytes)} MiB (+${mib(rss.growthBytes)} MiB during it)`,
  );
  console.log(
    `CPU during the measured ${measuredSeconds.toFixed(1)} s: server process ${(serverCpuMs / 1000).toFixed(2)} s (${percentOfCore(serverCpuMs, measuredSeconds)}% of one core; ${percentOfCore(idleCpuMs, idleSeconds)}% with the terminals attached and idle for ${idleSeconds.toFixed(1)} s before); ${environmentsAfter.tmuxServers} tmux servers + shells ${(environmentsMs / 1000).toFixed(2)} s; this process (Socket.IO clients, typing) ${(selfCpuMs / 1000).toFixed(2)} s`,
  );
  console.log(
    `floor CPU during its measured ${floorSeconds.toFixed(1)} s: tmux servers + shells ${(floorEnvironmentsMs / 1000).toFixed(2)} s; this process (node-pty, typing) ${(floorSelfCpuMs / 1000).toFixed(2)} s`,
  );
  const target = devpocket.stats.p99 < 50 && devpocket.lost === 0;
  console.log(`target p99 < 50 ms with no keystroke lost: ${target ? 'met' : 'NOT met'}`);
  console.log(
    JSON.stringify({
      benchmark: 'concurrent-terminals',
      terminals: TERMINALS,
      seconds: SECONDS,
      warmupSeconds: WARMUP_SECONDS,
      unit: 'ms',
      devpocket: { ...devpocket.stats, sent: devpocket.sent, lost: devpocket.lost },
      floor: { ...floor.stats, sent: floor.sent, lost: floor.lost },
      ratio,
      server: {
        rssBeforeAttachBytes: rssBeforeAttach,
        rssBaselineBytes: rss.baselineBytes,
        rssPeakBytes: rss.peakBytes,
        rssGrowthBytes: rss.growthBytes,
        cpuMs: serverCpuMs,
        idleCpuMs,
        idleSeconds: Number(idleSeconds.toFixed(3)),
        environmentsCpuMs: Number(environmentsMs.toFixed(3)),
        benchProcessCpuMs: selfCpuMs,
        measuredSeconds: Number(measuredSeconds.toFixed(3)),
      },
      floorCpu: { environmentsCpuMs: Number(floorEnvironmentsMs.toFixed(3)), benchProcessCpuMs: floorSelfCpuMs, measuredSeconds: Number(floorSeconds.toFixed(3)) },
      setup: { createSeconds: Number(createSeconds.toFixed(3)), attachSeconds: Number(attachSeconds.toFixed(3)) },
      totalSeconds: Number(((performance.now() - wallStart) / 1000).toFixed(1)),
    }),
  );
});
