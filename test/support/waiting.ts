import { setTimeout as sleep } from 'node:timers/promises';

/** Resolves once `check()` holds, checking every `everyMs`; rejects naming `what` after `timeoutMs`. */
export async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000, everyMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
    await sleep(everyMs);
  }
}

/**
 * Resolves with `count()` once it stayed the same for `quietMs` (output stopped arriving);
 * rejects naming `what` after `timeoutMs`.
 */
export async function quiet(count: () => number, what: string, quietMs = 300, timeoutMs = 10_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let last = -1;
  while (count() !== last) {
    if (Date.now() > deadline) throw new Error(`${what} never went quiet`);
    last = count();
    await sleep(quietMs);
  }
  return last;
}
