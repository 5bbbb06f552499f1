#!/usr/bin/env node
// REST throughput and latency: authenticated GET /api/v1/environments (a user with ENVIRONMENTS
// running environments) under autocannon, against DevPocket in a child process.
//
// The baseline, in the same run: a bare node:http server, also in a child process of its own
// (so each server has its own share of the cores and autocannon here competes with both alike),
// answering every request with the same status, content type and body bytes captured from one
// real DevPocket answer. The ratio DevPocket/bare is the cost of the framework, authentication
// (JWT verification and the user lookup), rate limiting and the database query.
//
// Each target gets a warm-up run (not counted), then the measured run: CONNECTIONS connections,
// pipelining 1, DURATION seconds. Latency percentiles are computed from autocannon's per-response
// times (floating-point ms), since its histogram keeps whole milliseconds only.
//
// Run with `npm run bench:rest` (builds first), or `node bench/rest.mjs` after `npm run build`.
// Options (environment variables): BENCH_CONNECTIONS (10), BENCH_DURATION (10 s), BENCH_WARMUP_SECONDS (2), BENCH_ENVIRONMENTS (5).
import { spawn } from 'node:child_process';
import autocannon from 'autocannon';
import {
  intOption,
  runBenchmark,
  cpuTimeMs,
  createRunningEnvironment,
  rssSampler,
  signUp,
  startDevPocket,
  summarize,
} from './lib/server.mjs';

const CONNECTIONS = intOption('BENCH_CONNECTIONS', 10);
const DURATION = intOption('BENCH_DURATION', 10);
const WARMUP_SECONDS = intOption('BENCH_WARMUP_SECONDS', 2, 0);
const ENVIRONMENTS = intOption('BENCH_ENVIRONMENTS', 5, 0);
const PIPELINING = 1;

/** The bare server: answers every request with BARE_STATUS, BARE_CONTENT_TYPE and BARE_BODY; prints its port. */
const BARE_SERVER = `
import { createServer } from 'node:http';
const body = Buffer.from(process.env.BARE_BODY, 'utf8');
const status = Number(process.env.BARE_STATUS);
const headers = { 'content-type': process.env.BARE_CONTENT_TYPE, 'content-length': String(body.length) };
const server = createServer((req, res) => {
  req.resume();
  res.writeHead(status, headers);
  res.end(body);
});
server.listen(0, '127.0.0.1', () => process.stdout.write('PORT ' + server.address().port + '\\n'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;

/** Starts the bare server in a child process; resolves with `{ url, pid, stop() }`. */
function startBare({ status, contentType, body }) {
  const child = spawn(process.execPath, ['--input-type=module', '-e', BARE_SERVER], {
    env: { PATH: process.env.PATH, BARE_BODY: body, BARE_STATUS: String(status), BARE_CONTENT_TYPE: contentType },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise((resolveExit) => child.once('exit', resolveExit));
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
  };
  return new Promise((resolveStart, reject) => {
    let stdout = '';
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`the bare server did not start within 10 s: ${stderr}`));
    }, 10_000);
    child.stdout.setEncoding('utf8').on('data', (chunk) => {
      stdout += chunk;
      const match = /PORT (\d+)/.exec(stdout);
      if (!match) return;
      clearTimeout(timer);
      resolveStart({ url: `http://127.0.0.1:${match[1]}`, pid: child.pid, stop });
    });
    exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`the bare server exited (${code}): ${stderr}`));
    });
  });
}

/**
 * One autocannon run against `url`; resolves with its result plus `samples` (the latency of every
 * 2xx response, ms). Fails when any request errored, timed out or was not a 2xx.
 */
async function cannon(url, headers, seconds) {
  const samples = [];
  const instance = autocannon({ url, connections: CONNECTIONS, pipelining: PIPELINING, duration: seconds, headers });
  instance.on('response', (_client, statusCode, _bytes, responseTime) => {
    if (statusCode >= 200 && statusCode < 300) samples.push(responseTime);
  });
  const result = await instance;
  if (result.errors || result.timeouts || result.non2xx) {
    throw new Error(`autocannon ${url}: ${result.errors} errors, ${result.timeouts} timeouts, ${result.non2xx} non-2xx (${JSON.stringify(result.statusCodeStats)})`);
  }
  return { result, samples };
}

/** Warm-up, then the measured run with the server's CPU time and peak RSS around it. */
async function measure(label, url, headers, pid) {
  if (WARMUP_SECONDS > 0) await cannon(url, headers, WARMUP_SECONDS);
  const rss = rssSampler(pid);
  const cpuBefore = cpuTimeMs(pid).totalMs;
  const { result, samples } = await cannon(url, headers, DURATION);
  const cpuMs = cpuTimeMs(pid).totalMs - cpuBefore;
  const memory = rss.stop();
  const latency = summarize(samples);
  const requests = result.requests.total;
  return {
    label,
    requestsPerSecond: Number((requests / DURATION).toFixed(1)),
    requests,
    latency,
    autocannon: { requestsAverage: result.requests.average, latencyP50: result.latency.p50, latencyP99: result.latency.p99 },
    cpuMs,
    cpuMicrosPerRequest: Number(((cpuMs * 1000) / requests).toFixed(1)),
    rssBaselineBytes: memory.baselineBytes,
    rssPeakBytes: memory.peakBytes,
  };
}

function line(run) {
  const ms = (value) => value.toFixed(3);
  return `${run.label}: ${run.requestsPerSecond.toFixed(0)} req/s  latency p50 ${ms(run.latency.median)} ms  p99 ${ms(run.latency.p99)} ms  max ${ms(run.latency.max)} ms  (${run.requests} requests; server CPU ${run.cpuMicrosPerRequest} µs/request, RSS ${(run.rssBaselineBytes / 1048576).toFixed(1)} MiB at the start, peak ${(run.rssPeakBytes / 1048576).toFixed(1)} MiB)`;
}

await runBenchmark('rest', async (cleanups) => {
  const server = await startDevPocket();
  cleanups.push(() => server.stop());
  const { accessToken } = await signUp(server.api);
  for (let i = 0; i < ENVIRONMENTS; i += 1) await createRunningEnvironment(server.api, accessToken, `rest${i}`);
  const target = `${server.api}/environments`;
  const headers = { authorization: `Bearer ${accessToken}` };

  // One real answer, whose bytes the bare server will send.
  const response = await fetch(target, { headers });
  const body = await response.text();
  if (response.status !== 200) throw new Error(`GET /environments: ${response.status} ${body}`);
  const listed = JSON.parse(body);
  if (listed.items?.length !== ENVIRONMENTS) throw new Error(`GET /environments listed ${listed.items?.length} environments, expected ${ENVIRONMENTS}`);
  const contentType = response.headers.get('content-type') ?? 'application/json';

  const bare = await startBare({ status: response.status, contentType, body });
  cleanups.push(() => bare.stop());
  const check = await fetch(`${bare.url}/api/v1/environments`, { headers });
  if ((await check.text()) !== body) throw new Error('the bare server does not answer the captured body');

  const devpocket = await measure('devpocket GET /api/v1/environments', target, headers, server.pid);
  const baseline = await measure('bare node:http, same body       ', `${bare.url}/api/v1/environments`, headers, bare.pid);
  const ratio = {
    requestsPerSecond: Number((devpocket.requestsPerSecond / baseline.requestsPerSecond).toFixed(3)),
    latencyP50: Number((devpocket.latency.median / baseline.latency.median).toFixed(3)),
    latencyP99: Number((devpocket.latency.p99 / baseline.latency.p99).toFixed(3)),
  };
  console.log(
    `rest: GET /api/v1/environments (${ENVIRONMENTS} environments, ${Buffer.byteLength(body)} bytes), autocannon ${CONNECTIONS} connections, pipelining ${PIPELINING}, ${DURATION} s after a ${WARMUP_SECONDS} s warm-up; each server in its own process`,
  );
  console.log(line(devpocket));
  console.log(line(baseline));
  console.log(`ratio devpocket/bare: req/s ${ratio.requestsPerSecond.toFixed(3)}  latency p50 ${ratio.latencyP50.toFixed(3)}  p99 ${ratio.latencyP99.toFixed(3)}`);
  console.log(
    JSON.stringify({
      benchmark: 'rest',
      route: 'GET /api/v1/environments',
      environments: ENVIRONMENTS,
      bodyBytes: Buffer.byteLength(body),
      connections: CONNECTIONS,
      pipelining: PIPELINING,
      durationSeconds: DURATION,
      warmupSeconds: WARMUP_SECONDS,
      unit: 'ms',
      devpocket,
      bare: baseline,
      ratio,
    }),
  );
});
