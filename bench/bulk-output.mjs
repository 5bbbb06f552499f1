#!/usr/bin/env node
// Bulk output: `yes <32 chars> | head -n 1000000` (33 MB from yes, 34 MB once the PTY turns
// each \n into \r\n), then a marker printed with printf from two halves. Measured: the time from
// sending the command to the marker being in the visible text the client received, and the
// bytes the client received until then; on four paths in the same run, same shell (bash -l,
// prompt `bench$ `), same size (120x40):
// - DevPocket (server in a child process, Socket.IO client acknowledging every `output`),
// - WeTTY 3.x (child process, its client's `commit` acks),
// - floor: raw PTY running bash, in this process,
// - floor: raw PTY running a tmux client (DevPocket's LocalRuntime), in this process.
// Each path runs BENCH_RUNS times (default 3); the median is reported.
// Target: DevPocket within 1.5× the raw PTY + tmux floor.
//
// Run with `npm run bench:bulk` (builds first). Uses the embedded PostgreSQL unless DATABASE_URL is set.
import { performance } from 'node:perf_hooks';
import { createRunningEnvironment, intOption, median, runBenchmark, signUp, startDevPocket } from './lib/server.mjs';
import {
  BULK_LINES,
  COLS,
  ROWS,
  YES_LINE,
  devpocketTerminal,
  megabytes,
  newMarker,
  prepareShell,
  quiet,
  rawPtyTerminal,
  relayedTmuxPtyTerminal,
  startWetty,
  tmuxPtyTerminal,
  watchMarker,
  wettyTerminal,
} from './lib/peers.mjs';

const RUNS = intOption('BENCH_RUNS', 3);
/** Longest wait for one run's marker, in milliseconds. */
const RUN_TIMEOUT_MS = 120_000;
const TARGET_RATIO = 1.5;

/**
 * One bulk run on `term`: clears the screen, sends the command, waits for the marker.
 * Resolves with `{ ms, bytes }`: milliseconds from the write to the chunk completing the
 * marker, and the UTF-8 bytes the client received in between.
 */
async function bulkRun(term) {
  await quiet(term, 300);
  const { marker, command } = newMarker();
  const seen = watchMarker(term, marker, RUN_TIMEOUT_MS);
  const startBytes = term.bytesReceived;
  const sentAt = performance.now();
  term.write(`yes ${YES_LINE} | head -n ${BULK_LINES}; ${command}\r`);
  const { at, bytes } = await seen.promise;
  // Let the prompt arrive before the next run.
  await quiet(term, 300);
  term.write(' clear\r');
  return { ms: at - sentAt, bytes: bytes - startBytes };
}

/** Opens a path, makes its shell alike, runs RUNS bulk runs, closes it; resolves with `{ runs, medianMs, medianBytes }`. */
async function benchPath(label, open, cleanups) {
  const term = await open();
  cleanups.push(() => term.close());
  await prepareShell(term);
  const runs = [];
  for (let i = 0; i < RUNS; i += 1) {
    const run = await bulkRun(term);
    runs.push({ ms: Number(run.ms.toFixed(1)), bytes: run.bytes });
    console.error(`  ${label} run ${i + 1}/${RUNS}: ${run.ms.toFixed(1)} ms, ${run.bytes} bytes received`);
  }
  await quiet(term, 300);
  await term.close();
  return { runs, medianMs: Number(median(runs.map((run) => run.ms)).toFixed(1)), medianBytes: median(runs.map((run) => run.bytes)) };
}

await runBenchmark('bulk-output', async (cleanups) => {
  const devpocketServer = await startDevPocket();
  cleanups.push(() => devpocketServer.stop());
  const { accessToken } = await signUp(devpocketServer.api);
  const environment = await createRunningEnvironment(devpocketServer.api, accessToken, 'bench-bulk');
  const wetty = await startWetty();
  cleanups.push(() => wetty.stop());

  const results = {};
  results.floorPty = await benchPath('floor pty', () => rawPtyTerminal(), cleanups);
  results.floorTmux = await benchPath('floor pty+tmux', () => tmuxPtyTerminal(), cleanups);
  results.relayedTmux = await benchPath('pty+tmux relayed', () => relayedTmuxPtyTerminal(), cleanups);
  results.wetty = await benchPath('wetty', () => wettyTerminal(wetty.url), cleanups);
  results.devpocket = await benchPath('devpocket', () => devpocketTerminal(devpocketServer.url, accessToken, environment.id), cleanups);

  const { devpocket, wetty: peer, floorPty, floorTmux, relayedTmux } = results;
  const ratios = {
    floorTmux: Number((devpocket.medianMs / floorTmux.medianMs).toFixed(3)),
    relayedTmux: Number((devpocket.medianMs / relayedTmux.medianMs).toFixed(3)),
    relayOverFloorTmux: Number((relayedTmux.medianMs / floorTmux.medianMs).toFixed(3)),
    floorPty: Number((devpocket.medianMs / floorPty.medianMs).toFixed(3)),
    wetty: Number((devpocket.medianMs / peer.medianMs).toFixed(3)),
  };
  const met = ratios.floorTmux <= TARGET_RATIO;
  const line = (label, result) =>
    `${label}: median ${result.medianMs.toFixed(1)} ms to the marker, ${megabytes(result.medianBytes)} (${result.medianBytes} bytes) received  [runs: ${result.runs.map((run) => `${run.ms} ms`).join(', ')}]`;
  console.log(
    `bulk output: \`yes ${YES_LINE} | head -n ${BULK_LINES}\` (${megabytes(BULK_LINES * (YES_LINE.length + 1))} from yes) then a marker; ${COLS}x${ROWS}; median of ${RUNS} runs per path`,
  );
  console.log(line('devpocket      (socket.io, acks every output)', devpocket));
  console.log(line('wetty 3.x      (socket.io, commit acks)      ', peer));
  console.log(line('floor pty      (node-pty -> bash)            ', floorPty));
  console.log(line('floor pty+tmux (node-pty -> tmux -> bash)    ', floorTmux));
  console.log(line('pty+tmux relayed by a second process, unframed', relayedTmux));
  console.log(`ratio devpocket/floor pty+tmux: ${ratios.floorTmux.toFixed(3)}  devpocket/floor pty: ${ratios.floorPty.toFixed(3)}  devpocket/wetty: ${ratios.wetty.toFixed(3)}`);
  console.log(`ratio relayed/floor pty+tmux (the process hop alone): ${ratios.relayOverFloorTmux.toFixed(3)}  devpocket/relayed: ${ratios.relayedTmux.toFixed(3)}`);
  console.log(`target <= ${TARGET_RATIO}x floor pty+tmux: ${met ? 'met' : 'not met'} (${devpocket.medianMs.toFixed(1)} ms vs ${(floorTmux.medianMs * TARGET_RATIO).toFixed(1)} ms allowed)`);
  console.log(JSON.stringify({ benchmark: 'bulk-output', lines: BULK_LINES, lineBytes: YES_LINE.length + 1, cols: COLS, rows: ROWS, runsPerPath: RUNS, unit: 'ms', ...results, ratios, targetMet: met }));
});
