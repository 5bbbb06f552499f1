import { describe, expect, it } from '@jest/globals';
import { LifecycleQueue } from './lifecycle-queue.js';

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => (resolve = done));
  return { promise, resolve };
}

describe(LifecycleQueue.name, () => {
  it('runs the operations of one environment one after another, in order', async () => {
    const queue = new LifecycleQueue();
    const order: string[] = [];
    const gate = deferred();
    const first = queue.enqueue('env', async () => {
      order.push('first:start');
      await gate.promise;
      order.push('first:end');
    });
    const second = queue.enqueue('env', async () => {
      order.push('second');
    });
    await Promise.resolve();
    expect(order).toEqual(['first:start']);
    gate.resolve();
    await Promise.all([first, second]);
    expect(order).toEqual(['first:start', 'first:end', 'second']);
  });

  it('runs different environments side by side', async () => {
    const queue = new LifecycleQueue();
    const gate = deferred();
    const order: string[] = [];
    const blocked = queue.enqueue('a', async () => {
      await gate.promise;
      order.push('a');
    });
    await queue.enqueue('b', async () => {
      order.push('b');
    });
    expect(order).toEqual(['b']);
    gate.resolve();
    await blocked;
    expect(order).toEqual(['b', 'a']);
  });

  it('aborts the running operation and skips the waiting ones when a preempting one arrives', async () => {
    const queue = new LifecycleQueue();
    const gate = deferred();
    const started = deferred();
    let signalOfFirst: AbortSignal | undefined;
    const ran: string[] = [];
    const first = queue.enqueue('env', async (signal) => {
      signalOfFirst = signal;
      started.resolve();
      await gate.promise;
      ran.push(signal.aborted ? 'first:aborted' : 'first:done');
    });
    await started.promise;
    const waiting = queue.enqueue('env', async () => {
      ran.push('waiting');
    });
    const preempting = queue.enqueue('env', async (signal) => {
      ran.push(signal.aborted ? 'delete:aborted' : 'delete');
    }, { preempt: true });
    expect(signalOfFirst?.aborted).toBe(true);
    gate.resolve();
    await Promise.all([first, waiting, preempting]);
    expect(ran).toEqual(['first:aborted', 'delete']);
  });

  it('keeps going after an operation throws', async () => {
    const queue = new LifecycleQueue();
    await queue.enqueue('env', async () => {
      throw new Error('boom');
    });
    const ran: string[] = [];
    await queue.enqueue('env', async () => {
      ran.push('next');
    });
    expect(ran).toEqual(['next']);
  });

  it('drains: resolves once everything queued has settled', async () => {
    const queue = new LifecycleQueue();
    const gate = deferred();
    let finished = false;
    void queue.enqueue('env', async () => {
      await gate.promise;
      finished = true;
    });
    const drained = queue.drain();
    gate.resolve();
    await drained;
    expect(finished).toBe(true);
  });
});
