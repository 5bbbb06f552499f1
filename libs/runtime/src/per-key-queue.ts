/**
 * Runs async tasks one after another per key (an environment id), in the order they are given;
 * a task that fails does not stop the next. Different keys run side by side. Drivers use it so
 * that start, stop and destroy of one environment never interleave.
 */
export class PerKeyQueue {
  private readonly tails = new Map<string, Promise<void>>();

  /** Runs `task` after every task queued before it under `key`; resolves or rejects as `task` does. */
  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(task);
    const settled = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, settled);
    void settled.then(() => {
      if (this.tails.get(key) === settled) this.tails.delete(key);
    });
    return result;
  }
}
