#!/usr/bin/env node
// Keystroke round trip: one printable character typed, until its echo comes back, on four paths
// in the same run, same shell (bash -l, prompt `bench$ `), same size (120x40):
// - DevPocket: socket.io-client → /terminal gateway → node-pty → tmux client → tmux server → bash,
//   output acknowledged (`ack {seq}`) as it arrives; the server is a child process (dist/).
// - WeTTY 3.x: socket.io-client → WeTTY (child process) → node-pty → bash, with its `commit` acks.
// - floor, raw PTY: node-pty → bash, in this process.
// - floor, raw PTY + tmux: node-pty → tmux client → tmux server → bash, set up by DevPocket's
//   LocalRuntime in this process.
// Target: DevPocket's median and p99 no worse than WeTTY's.
//
// Run with `npm run bench:echo` (builds first). BENCH_KEYSTROKES overrides the 2,000 keystrokes
// (for a short check). Uses the embedded PostgreSQL unless DATABASE_URL is set.
import { performance } from 'node:perf_hooks';
import { createRunningEnvironment, formatStats, intOption, runBenchmark, signUp, startDevPocket, summarize, visible } from './lib/server.mjs';
import {
  COLS,
  ROWS,
  devpocketTerminal,
  nextOutput,
  prepareShell,
  quiet,
  rawPtyTerminal,
  startWetty,
  tmuxPtyTerminal,
  wettyTerminal,
} from './lib/peers.mjs';

const KEYSTROKES = intOption('BENCH_KEYSTROKES', 2000);
const WARMUP = 100;
/** Ctrl-U (readline's unix-line-discard) every this many keystrokes, so the line never wraps. */
const CLEAR_EVERY = 40;
/** Longest wait for one echo, in milliseconds; a lost echo fails the run rather than hanging it. */
const ECHO_TIMEOUT_MS = 5_000;
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz';

/**
 * Types WARMUP + KEYSTROKES letters into `term` one at a time, each after the echo of the
 * previous one, clearing the line with Ctrl-U every CLEAR_EVERY; resolves with the round trips
 * of the counted keystrokes in milliseconds (write → arrival of the chunk showing the letter).
 */
async function measure(term) {
  const samples = [];
  for (let i = 0; i < WARMUP + KEYSTROKES; i += 1) {
    if (i > 0 && i % CLEAR_EVERY === 0) {
      const cleared = nextOutput(term, () => true, 'redraw after Ctrl-U', ECHO_TIMEOUT_MS);
      term.write('\x15');
      await cleared;
      await quiet(term, 20);
    }
    const key = ALPHABET[i % ALPHABET.length];
    const echoed = nextOutput(term, (chunk) => visible(chunk).includes(key), `echo of ${JSON.stringify(key)} (keystroke ${i})`, ECHO_TIMEOUT_MS);
    const sentAt = performance.now();
    term.write(key);
    const echoedAt = await echoed;
    if (i >= WARMUP) samples.push(echoedAt - sentAt);
  }
  term.write('\x15');
  await quiet(term, 100);
  return samples;
}

/** Opens a path with `open()`, makes its shell alike, measures it, closes it; resolves with the statistics. */
async function benchPath(open, cleanups) {
  const term = await open();
  cleanups.push(() => term.close());
  await prepareShell(term);
  const stats = summarize(await measure(term));
  await term.close();
  return stats;
}

const ratio = (a, b) => Number((a / b).toFixed(3));

await runBenchmark('echo', async (cleanups) => {
  const devpocketServer = await startDevPocket();
  cleanups.push(() => devpocketServer.stop());
  const { accessToken } = await signUp(devpocketServer.api);
  const environment = await createRunningEnvironment(devpocketServer.api, accessToken, 'bench-echo');
  const wetty = await startWetty();
  cleanups.push(() => wetty.stop());

  const results = {};
  results.floorPty = await benchPath(() => rawPtyTerminal(), cleanups);
  results.floorTmux = await benchPath(() => tmuxPtyTerminal(), cleanups);
  results.wetty = await benchPath(() => wettyTerminal(wetty.url), cleanups);
  results.devpocket = await benchPath(() => devpocketTerminal(devpocketServer.url, accessToken, environment.id), cleanups);

  const { devpocket, wetty: peer, floorPty, floorTmux } = results;
  const ratios = {
    wetty: { median: ratio(devpocket.median, peer.median), p99: ratio(devpocket.p99, peer.p99) },
    floorPty: { median: ratio(devpocket.median, floorPty.median), p99: ratio(devpocket.p99, floorPty.p99) },
    floorTmux: { median: ratio(devpocket.median, floorTmux.median), p99: ratio(devpocket.p99, floorTmux.p99) },
  };
  const medianMet = devpocket.median <= peer.median;
  const p99Met = devpocket.p99 <= peer.p99;
  console.log(`terminal echo: ${KEYSTROKES} keystrokes per path (${WARMUP} warm-up keystrokes not counted), ${COLS}x${ROWS}, bash -l with PS1='bench$ ', times in ms`);
  console.log(formatStats('devpocket      (socket.io -> gateway -> pty -> tmux -> bash)', devpocket));
  console.log(formatStats('wetty 3.x      (socket.io -> pty -> bash)                   ', peer));
  console.log(formatStats('floor pty      (node-pty -> bash, in-process)               ', floorPty));
  console.log(formatStats('floor pty+tmux (node-pty -> tmux -> bash, in-process)       ', floorTmux));
  console.log(`ratio devpocket/wetty:          median ${ratios.wetty.median.toFixed(3)}  p99 ${ratios.wetty.p99.toFixed(3)}`);
  console.log(`ratio devpocket/floor pty:      median ${ratios.floorPty.median.toFixed(3)}  p99 ${ratios.floorPty.p99.toFixed(3)}`);
  console.log(`ratio devpocket/floor pty+tmux: median ${ratios.floorTmux.median.toFixed(3)}  p99 ${ratios.floorTmux.p99.toFixed(3)}`);
  console.log(`target median <= wetty's: ${medianMet ? 'met' : 'not met'} (${devpocket.median.toFixed(3)} vs ${peer.median.toFixed(3)} ms)`);
  console.log(`target p99 <= wetty's:    ${p99Met ? 'met' : 'not met'} (${devpocket.p99.toFixed(3)} vs ${peer.p99.toFixed(3)} ms)`);
  console.log(`target met: ${medianMet && p99Met ? 'yes' : 'no'}`);
  console.log(
    JSON.stringify({ benchmark: 'echo', keystrokes: KEYSTROKES, warmup: WARMUP, cols: COLS, rows: ROWS, unit: 'ms', ...results, ratios, targetMet: { median: medianMet, p99: p99Met } }),
  );
});
