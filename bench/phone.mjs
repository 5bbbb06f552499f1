#!/usr/bin/env node
// The phone case: a client on a 1 MiB/s link. Between the client and the server sits a loopback
// TCP proxy that reads the server's side at 1 MiB/s (token bucket; the upstream socket is paused
// while the bucket is empty, so the server's socket fills and it meets real back-pressure) and
// forwards to the client; the client connects to the proxy (websocket transport only). Client →
// server is not throttled. For DevPocket and for WeTTY 3.x, both servers running as child
// processes, same shell (bash -l, prompt `bench$ `), same size (120x40):
// 1. bulk: `yes <32 chars> | head -n 1000000` (34 MB through the PTY), then a marker: the time
//    from the command to the marker (printed just before the prompt comes back) as the client
//    sees it, and the bytes the client received by then;
// 2. Ctrl-C: `yes <32 chars>` endlessly; after 2 s, Ctrl-C (\x03) and at once a printf of a
//    marker: the time from the Ctrl-C to the marker, and the bytes received in between;
// 3. server memory: VmRSS of the server process sampled every 20 ms during 1 and 2 (baseline =
//    first sample, after the attach; growth = peak − baseline).
// Each wait gives up after 90 s (reported as a timeout).
// Targets (DevPocket): prompt back under 3 s; RSS growth under 64 MiB.
//
// Run with `npm run bench:phone` (builds first). Uses the embedded PostgreSQL unless DATABASE_URL is set.
import { performance } from 'node:perf_hooks';
import { createRunningEnvironment, rssSampler, runBenchmark, signUp, sleep, startDevPocket } from './lib/server.mjs';
import {
  BULK_LINES,
  COLS,
  ROWS,
  YES_LINE,
  devpocketTerminal,
  mebibytes,
  megabytes,
  newMarker,
  prepareShell,
  quiet,
  startWetty,
  throttlingProxy,
  watchMarker,
  wettyTerminal,
} from './lib/peers.mjs';

/** The link's rate from the server to the client, in bytes per second. */
const LINK_BYTES_PER_SECOND = 1024 * 1024;
/** Longest wait for a marker, in milliseconds. */
const TIMEOUT_MS = 90_000;
/** How long the endless `yes` runs before the Ctrl-C, in milliseconds. */
const CTRL_C_AFTER_MS = 2_000;
const PROMPT_TARGET_MS = 3_000;
const RSS_TARGET_BYTES = 64 * 1024 * 1024;
const RSS_INTERVAL_MS = 20;

/**
 * Sends `input` at once (or `inputs` one after the other) and waits for `marker`. Resolves with
 * `{ ms, bytes, timedOut }`: milliseconds from the first write to the chunk completing the
 * marker (the timeout when it never came), and the UTF-8 bytes the client received meanwhile.
 */
async function timeToMarker(term, marker, inputs) {
  const seen = watchMarker(term, marker, TIMEOUT_MS);
  const startBytes = term.bytesReceived;
  const sentAt = performance.now();
  for (const input of inputs) term.write(input);
  try {
    const { at, bytes } = await seen.promise;
    return { ms: Number((at - sentAt).toFixed(1)), bytes: bytes - startBytes, timedOut: false };
  } catch (error) {
    if (!error.timedOut) throw error;
    return { ms: TIMEOUT_MS, bytes: term.bytesReceived - startBytes, timedOut: true };
  }
}

/** After a timed-out wait: interrupts whatever still runs and lets the output drain. */
async function settle(term) {
  term.write('\x03');
  await quiet(term, 1_000, 3 * TIMEOUT_MS);
}

/**
 * The phone case on one server: a proxy in front of `port`, a terminal through it opened by
 * `open(proxyUrl)`, the bulk and Ctrl-C runs, and the server's RSS (`pid`) during both.
 * Resolves with `{ bulk, ctrlC, rss, proxyBytesToClient }`.
 */
async function phoneCase(label, port, pid, open, cleanups) {
  const proxy = await throttlingProxy(port, { bytesPerSecond: LINK_BYTES_PER_SECOND });
  cleanups.push(() => proxy.stop());
  const term = await open(proxy.url);
  cleanups.push(() => term.close());
  await prepareShell(term, TIMEOUT_MS);
  const sampler = rssSampler(pid, RSS_INTERVAL_MS);
  let rss;
  try {
    const bulkMarker = newMarker();
    const bulk = await timeToMarker(term, bulkMarker.marker, [`yes ${YES_LINE} | head -n ${BULK_LINES}; ${bulkMarker.command}\r`]);
    console.error(`  ${label} bulk: ${bulk.timedOut ? 'timed out after' : ''} ${bulk.ms} ms, ${bulk.bytes} bytes received`);
    if (bulk.timedOut) await settle(term);
    else await quiet(term, 500, TIMEOUT_MS);

    term.write(`yes ${YES_LINE}\r`);
    await sleep(CTRL_C_AFTER_MS);
    const ctrlCMarker = newMarker();
    const ctrlC = await timeToMarker(term, ctrlCMarker.marker, ['\x03', `${ctrlCMarker.command}\r`]);
    console.error(`  ${label} Ctrl-C: ${ctrlC.timedOut ? 'timed out after' : ''} ${ctrlC.ms} ms, ${ctrlC.bytes} bytes received`);
    if (ctrlC.timedOut) await settle(term);
    else await quiet(term, 500, TIMEOUT_MS);
    rss = sampler.stop();
    return { bulk, ctrlC, rss: { baselineBytes: rss.baselineBytes, peakBytes: rss.peakBytes, growthBytes: rss.growthBytes, samples: rss.samples }, proxyBytesToClient: proxy.stats.toClient };
  } finally {
    if (!rss) sampler.stop();
    await term.close();
    await proxy.stop();
  }
}

await runBenchmark('phone', async (cleanups) => {
  const devpocketServer = await startDevPocket();
  cleanups.push(() => devpocketServer.stop());
  const { accessToken } = await signUp(devpocketServer.api);
  const environment = await createRunningEnvironment(devpocketServer.api, accessToken, 'bench-phone');
  const wetty = await startWetty();
  cleanups.push(() => wetty.stop());

  const devpocketPort = Number(new URL(devpocketServer.url).port);
  const wettyPort = Number(new URL(wetty.url).port);
  const results = {};
  results.devpocket = await phoneCase('devpocket', devpocketPort, devpocketServer.pid, (url) => devpocketTerminal(url, accessToken, environment.id), cleanups);
  results.wetty = await phoneCase('wetty', wettyPort, wetty.pid, (url) => wettyTerminal(url), cleanups);

  const { devpocket, wetty: peer } = results;
  const time = (run) => (run.timedOut ? `timed out after ${(run.ms / 1000).toFixed(0)} s` : `${run.ms.toFixed(1)} ms`);
  const lines = (name, result) => [
    `${name} prompt back after bulk: ${time(result.bulk)}, ${megabytes(result.bulk.bytes)} (${result.bulk.bytes} bytes) received`,
    `${name} Ctrl-C to marker:       ${time(result.ctrlC)}, ${megabytes(result.ctrlC.bytes)} (${result.ctrlC.bytes} bytes) received`,
    `${name} server RSS:             baseline ${mebibytes(result.rss.baselineBytes)}, peak ${mebibytes(result.rss.peakBytes)}, growth ${mebibytes(result.rss.growthBytes)}`,
    `${name} on the wire:            ${megabytes(result.proxyBytesToClient)} through the proxy to the client (both runs, framing included)`,
  ];
  const promptMet = !devpocket.bulk.timedOut && devpocket.bulk.ms < PROMPT_TARGET_MS;
  const rssMet = devpocket.rss.growthBytes < RSS_TARGET_BYTES;
  console.log(`phone: server -> client at ${mebibytes(LINK_BYTES_PER_SECOND)}/s through a throttling loopback proxy; bulk \`yes ${YES_LINE} | head -n ${BULK_LINES}\`; ${COLS}x${ROWS}; waits give up after ${TIMEOUT_MS / 1000} s`);
  for (const line of lines('devpocket', devpocket)) console.log(line);
  for (const line of lines('wetty 3.x', peer)) console.log(line);
  if (peer.bulk.timedOut || peer.ctrlC.timedOut) console.log(`wetty hit the ${TIMEOUT_MS / 1000} s timeout`);
  const ratio = (a, b) => (b.timedOut ? `< ${(a.ms / b.ms).toFixed(3)}` : (a.ms / b.ms).toFixed(3));
  console.log(`ratio devpocket/wetty: prompt back ${ratio(devpocket.bulk, peer.bulk)}  Ctrl-C ${ratio(devpocket.ctrlC, peer.ctrlC)}`);
  console.log(`target prompt back < ${PROMPT_TARGET_MS / 1000} s: ${promptMet ? 'met' : 'not met'} (${time(devpocket.bulk)})`);
  console.log(`target server RSS growth < ${mebibytes(RSS_TARGET_BYTES)}: ${rssMet ? 'met' : 'not met'} (${mebibytes(devpocket.rss.growthBytes)})`);
  console.log(
    JSON.stringify({ benchmark: 'phone', linkBytesPerSecond: LINK_BYTES_PER_SECOND, lines: BULK_LINES, cols: COLS, rows: ROWS, timeoutMs: TIMEOUT_MS, unit: 'ms', ...results, targetMet: { prompt: promptMet, rss: rssMet } }),
  );
});
