import { Logger } from '@nestjs/common';

/** Work on one environment; it should stop early once `signal` is aborted. */
export type LifecycleOperation = (signal: AbortSignal) => Promise<void>;

/**
 * Runs lifecycle operations one at a time per environment, in the order asked. An operation
 * enqueued with `preempt` (delete) aborts the one in flight and the ones waiting, so a delete
 * cancels what is in flight instead of waiting behind it.
 */
export class LifecycleQueue {
  private readonly logger = new Logger(LifecycleQueue.name);
  private readonly queues = new Map<string, { tail: Promise<void>; controllers: Set<AbortController> }>();

  /** Queues `operation` for environment `id`; resolves when it has run (or was skipped as aborted). */
  enqueue(id: string, operation: LifecycleOperation, options: { preempt?: boolean } = {}): Promise<void> {
    const queue = this.queues.get(id) ?? { tail: Promise.resolve(), controllers: new Set<AbortController>() };
    if (options.preempt) for (const controller of queue.controllers) controller.abort();
    const controller = new AbortController();
    queue.controllers.add(controller);
    const run = queue.tail.then(async () => {
      if (controller.signal.aborted) return;
      try {
        await operation(controller.signal);
      } catch (error) {
        // Operations record their own failures on the environment; this only keeps the chain alive.
        this.logger.error(`lifecycle operation on environment ${id} failed: ${(error as Error).stack ?? String(error)}`);
      }
    });
    queue.tail = run.finally(() => {
      queue.controllers.delete(controller);
      if (queue.controllers.size === 0 && this.queues.get(id) === queue) this.queues.delete(id);
    });
    this.queues.set(id, queue);
    return run;
  }

  /** Resolves when every queued operation has settled (used at shutdown). */
  async drain(): Promise<void> {
    while (this.queues.size > 0) await Promise.allSettled([...this.queues.values()].map((queue) => queue.tail));
  }
}
