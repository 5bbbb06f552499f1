import { describe, expect, it } from '@jest/globals';
import type { TerminalStream } from '@devpocket/runtime';
import { DomainException } from '../common/domain.exception.js';
import { DEFAULT_FLOW, TerminalSession, type ExitReason, type TerminalSink } from './terminal.service.js';

/** A tmux client stand-in: records what the session writes, and lets the test play its output. */
class FakeStream implements TerminalStream {
  readonly writes: string[] = [];
  paused = false;
  private dataListener?: (data: string) => void;

  onData(listener: (data: string) => void): void {
    this.dataListener = listener;
  }
  onExit(): void {}
  write(data: string): void {
    this.writes.push(data);
  }
  resize(): void {}
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
  }
  close(): void {}

  /** tmux writes `data` to its terminal. */
  emit(data: string): void {
    this.dataListener?.(data);
  }
}

/** A socket stand-in that keeps the output and exits it was sent. */
class RecordingSink implements TerminalSink {
  readonly outputs: Array<{ data: string; seq: number }> = [];
  readonly exits: ExitReason[] = [];
  output(data: string, seq: number): void {
    this.outputs.push({ data, seq });
  }
  status(): void {}
  exit(reason: ExitReason): void {
    this.exits.push(reason);
  }
}

const nextMacrotask = () => new Promise((resolveLater) => setImmediate(resolveLater));
const sleep = (ms: number) => new Promise((resolveSleep) => setTimeout(resolveSleep, ms));

function open(transport: 'socket.io' | 'websocket' = 'socket.io', flow = { ...DEFAULT_FLOW, frameMs: 20 }) {
  const stream = new FakeStream();
  const sink = new RecordingSink();
  const session = new TerminalSession('env', 'user', null, false, transport, stream, sink, () => undefined, flow);
  return { stream, sink, session };
}

describe(TerminalSession.name, () => {
  it('holds input typed before tmux has painted, then writes it in order', () => {
    const { stream, session } = open();
    session.input('\x03');
    session.input('echo hi\r');
    expect(stream.writes).toEqual([]);
    stream.emit('\x1b[?1049h');
    expect(stream.writes).toEqual(['\x03echo hi\r']);
    session.input('ls\r');
    expect(stream.writes).toEqual(['\x03echo hi\r', 'ls\r']);
  });

  it('refuses more than 64 KiB of input before tmux has painted, keeping what it held', () => {
    const { stream, session } = open();
    session.input('a'.repeat(60 * 1024));
    expect(() => session.input('b'.repeat(8 * 1024))).toThrow(DomainException);
    stream.emit('painted');
    expect(stream.writes).toEqual(['a'.repeat(60 * 1024)]);
  });

  it('sends no output before start(), and from its first byte on the next macrotask', async () => {
    const { stream, sink, session } = open();
    stream.emit('first paint');
    await sleep(40);
    expect(sink.outputs).toEqual([]);
    session.start();
    expect(sink.outputs).toEqual([]);
    await nextMacrotask();
    expect(sink.outputs).toEqual([{ data: 'first paint', seq: 11 }]);
  });

  it('sends an echo at once when everything was acknowledged, and coalesces output while a frame is unacknowledged', async () => {
    const { stream, sink, session } = open();
    session.start();
    await nextMacrotask();
    stream.emit('a');
    expect(sink.outputs).toEqual([{ data: 'a', seq: 1 }]);
    // Not acknowledged yet: the next output waits for the frame.
    stream.emit('b');
    stream.emit('c');
    expect(sink.outputs).toHaveLength(1);
    await sleep(40);
    expect(sink.outputs).toEqual([
      { data: 'a', seq: 1 },
      { data: 'bc', seq: 3 },
    ]);
    session.ack(3);
    stream.emit('d');
    expect(sink.outputs.at(-1)).toEqual({ data: 'd', seq: 4 });
  });

  it('without acks (plain WebSocket) sends at once only when no frame went out for a frame time', async () => {
    const { stream, sink, session } = open('websocket');
    session.start();
    await nextMacrotask();
    stream.emit('a');
    stream.emit('b');
    expect(sink.outputs).toEqual([{ data: 'a', seq: 1 }]);
    await sleep(40);
    expect(sink.outputs.at(-1)).toEqual({ data: 'b', seq: 2 });
    // More than a frame time after the last frame went out.
    await sleep(30);
    stream.emit('c');
    expect(sink.outputs.at(-1)).toEqual({ data: 'c', seq: 3 });
  });

  it('pauses the PTY past the high-water mark and resumes under a quarter of it', async () => {
    const { stream, sink, session } = open('socket.io', { ...DEFAULT_FLOW, frameMs: 1, frameBytes: 1024, highWaterBytes: 4096 });
    session.start();
    await nextMacrotask();
    for (let i = 0; i < 5; i += 1) stream.emit('x'.repeat(1024));
    expect(stream.paused).toBe(true);
    const sent = sink.outputs.at(-1)!.seq;
    session.ack(sent - 2048);
    expect(stream.paused).toBe(true);
    session.ack(sent);
    expect(stream.paused).toBe(false);
  });
});
