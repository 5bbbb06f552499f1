import type { TerminalStream } from '../environment-runtime.js';

/** Test helper of both drivers' specs. Output of one terminal, accumulated, with a wait for a pattern (no fixed sleeps). */
export interface Screen {
  text(): string;
  /** Whether `pattern` shows up within `timeoutMs`. */
  seen(pattern: RegExp, timeoutMs: number): Promise<boolean>;
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  exited: Promise<{ exitCode: number; signal?: number }>;
}

export function screenOf(terminal: TerminalStream): Screen {
  let output = '';
  let waiters: Array<() => void> = [];
  terminal.onData((data) => {
    output += data;
    for (const waiter of waiters) waiter();
  });
  const exited = new Promise<{ exitCode: number; signal?: number }>((resolve) => terminal.onExit(resolve));
  const screen: Screen = {
    text: () => output,
    exited,
    seen(pattern, timeoutMs) {
      return screen.waitFor(pattern, timeoutMs).then(
        () => true,
        () => false,
      );
    },
    waitFor(pattern, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const match = output.match(pattern);
          if (!match) return;
          clearTimeout(timer);
          waiters = waiters.filter((waiter) => waiter !== check);
          resolve(match);
        };
        const timer = setTimeout(() => {
          waiters = waiters.filter((waiter) => waiter !== check);
          reject(new Error(`Timed out waiting for ${pattern} in terminal output: ${JSON.stringify(output.slice(-600))}`));
        }, timeoutMs);
        waiters.push(check);
        check();
      });
    },
  };
  return screen;
}
