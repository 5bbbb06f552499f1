import { randomUUID } from 'node:crypto';
import { Injectable, Logger, type BeforeApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { RuntimeError, type TerminalStream } from '@devpocket/runtime';
import { Gauge } from 'prom-client';
import type { Observable, Subscription } from 'rxjs';
import type { AuthUser } from '../auth/auth-user.js';
import { AppConfig } from '../config/app-config.js';
import { DomainException, ErrorCode } from '../common/domain.exception.js';
import { toEnvironmentDto, type EnvironmentDto } from '../environments/dto/environment.dto.js';
import { EnvironmentEvents, type EnvironmentStatusChange } from '../environments/environment-events.js';
import { EnvironmentsService } from '../environments/environments.service.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { RuntimeRegistry } from '../runtime/runtime.module.js';
import type { Page } from '../common/validation.js';
import { SharesService, type ShareGrant } from '../shares/shares.service.js';
import type { TerminalSessionEntity } from './terminal-session.entity.js';
import { TerminalSessionsRepository } from './terminal-sessions.repository.js';

/** Why a terminal ended, as sent in the `exit` event. */
export type ExitReason =
  | 'environment_stopped'
  | 'session_ended'
  | 'server_restart'
  | 'detached'
  | 'taken_over'
  | 'session_killed'
  | 'share_revoked'
  | 'share_expired';

/**
 * Who attaches: a user (access token or API key), or a guest holding a share link, who may
 * attach only to the shared environment, read-only unless the link's mode is `write`.
 */
export type TerminalCaller = { user: AuthUser; grant?: undefined } | { user?: undefined; grant: ShareGrant };

/** What the transport knows of the socket, for the session record and the audit trail. */
export interface TerminalClientInfo {
  /** The socket's user agent. */
  client?: string;
  /** The client's IP address as the server saw it. */
  ip?: string;
}

/** How a transport delivers a session's events to its socket. */
export interface TerminalSink {
  /** A chunk of output; `seq` is the count of UTF-8 bytes sent on the session after this chunk. */
  output(data: string, seq: number): void;
  status(status: string): void;
  /** The terminal ended; the transport tells its client and closes the socket. */
  exit(reason: ExitReason): void;
}

/** What a client asks for when it attaches. */
export interface AttachRequest {
  environmentId: string;
  cols: number;
  rows: number;
  sessionId?: string;
  lastSeq?: number;
  readOnly?: boolean;
}

/** The attach acknowledgement of API.md: where this client's stream starts and how. */
export interface AttachResult {
  sessionId: string;
  seq: number;
  resume: 'new' | 'replay' | 'redraw';
  readOnly: boolean;
}

/** How a session buffers, frames and paces its output. */
export interface TerminalFlowOptions {
  /** Output kept for a resume, in bytes (oldest chunks dropped first). */
  replayBytes: number;
  /** Unacknowledged bytes above which the PTY is paused; reading resumes under a quarter of it. */
  highWaterBytes: number;
  /** How long a session outlives its socket waiting for a resume, in milliseconds; 0 ends it with the socket. */
  graceMs: number;
  /** Longest wait collecting PTY output into one frame, in milliseconds. */
  frameMs: number;
  /** Largest frame, in bytes: a frame is sent as soon as it reaches this. */
  frameBytes: number;
}

/** Defaults of {@link TerminalFlowOptions} (API.md, `.env.example`). */
export const DEFAULT_FLOW: TerminalFlowOptions = { replayBytes: 1024 * 1024, highWaterBytes: 1024 * 1024, graceMs: 600_000, frameMs: 5, frameBytes: 64 * 1024 };

/** Whose connections a session counts towards (caps, resumes): a user's own, or one share link's guests. */
function principalOf(userId: string, shareId: string | null): string {
  return shareId ? `share:${shareId}` : `user:${userId}`;
}

/** A frame under this many bytes is interactive (an echo, a prompt): the next output may go at once. */
const INTERACTIVE_FRAME_BYTES = 4096;

/** Input a session holds while its tmux client starts, in bytes (a paste's worth). */
const MAX_HELD_INPUT_BYTES = 64 * 1024;

/** One frame of output kept for replay: bytes `start` (exclusive) to `start + bytes.length` of the stream. */
interface ReplayChunk {
  start: number;
  bytes: Buffer;
}

/**
 * One terminal session: one tmux client kept by the server, and the byte count of its output
 * stream (`seq`). Input may carry the client's own sequence number, so a resent input is
 * applied once.
 *
 * Output is collected into frames (up to `frameMs` or `frameBytes`; the first output after
 * the client has acknowledged everything goes at once, see {@link idle}), counted, kept in a
 * bounded replay ring, and sent to the current sink if any. A resumable session (Socket.IO)
 * outlives its socket for `graceMs`, still reading (the ring drops its oldest bytes, so tmux
 * never blocks), and a later attach may replay what was missed or take it over. While a sink
 * holds more than `highWaterBytes` unacknowledged, the PTY is paused (input still flows).
 */
export class TerminalSession {
  readonly id = randomUUID();
  readonly startedAt = new Date();
  /** UTF-8 bytes of output sent so far. */
  seq = 0;
  /** UTF-8 bytes of input written to the PTY. */
  bytesIn = 0;
  /** UTF-8 bytes of output sent to a socket (replays included). */
  bytesOut = 0;
  /** Why the session ended, once it has. */
  endReason?: ExitReason;
  /** Called after each input written to the PTY (activity tracking). */
  onInput?: () => void;
  /** Called when the socket left and the session is kept for a resume (the kept-session cap). */
  onKept?: () => void;
  /** When the session was last left without a socket, kept for a resume (epoch ms). */
  releasedAt?: number;
  /** Output acknowledged by the client (`ack {seq}`). */
  private ackedSeq = 0;
  private lastInputSeq = -1;
  /**
   * Input typed before the stream's first output, which is tmux's first paint: until then the
   * PTY is not in tmux's raw mode, and a Ctrl-C would kill the starting tmux client instead of
   * reaching the shell. Undefined once written.
   */
  private heldInput?: string[] = [];
  private heldInputBytes = 0;
  private ended = false;
  private sink?: TerminalSink;
  /** A sink set by an attach gets output only after the attach's ack went out (next macrotask). */
  private sinkReady = false;
  /** While a replay waits for its sink to be ready, the ring keeps everything after this seq. */
  private pinnedSeq?: number;
  private readonly ring: ReplayChunk[] = [];
  private ringBytes = 0;
  private pending: string[] = [];
  private pendingBytes = 0;
  private frameTimer?: NodeJS.Timeout;
  /** When the last frame went out (performance.now(), ms), and its size in bytes. */
  private lastFlushAt = -Infinity;
  private lastFrameBytes = 0;
  private graceTimer?: NodeJS.Timeout;
  private expiryTimer?: NodeJS.Timeout;
  private paused = false;

  constructor(
    readonly environmentId: string,
    /** The environment's owner (a guest's session belongs to the owner of the shared environment). */
    readonly userId: string,
    /** The share link a guest attached with; null for the owner's own sessions. */
    readonly shareId: string | null,
    readonly readOnly: boolean,
    readonly transport: 'socket.io' | 'websocket',
    private readonly stream: TerminalStream,
    sink: TerminalSink,
    private readonly onEnd: (session: TerminalSession) => void,
    private readonly flow: TerminalFlowOptions = DEFAULT_FLOW,
  ) {
    this.setSink(sink, 0);
    stream.onData((data) => {
      if (this.heldInput) this.releaseInput();
      this.collect(data);
    });
    stream.onExit(() => this.end('session_ended'));
  }

  /** Whose connection this is, for the connection caps and resumes: `user:<id>` or `share:<id>`. */
  get principal(): string {
    return principalOf(this.userId, this.shareId);
  }

  /** Whether the session outlives its socket and can be resumed (Socket.IO only; plain WebSocket has no seq/ack). */
  get resumable(): boolean {
    return this.transport === 'socket.io' && this.flow.graceMs > 0;
  }

  get isEnded(): boolean {
    return this.ended;
  }

  /** Whether a socket holds the session now (a session kept for a resume has none). */
  get connected(): boolean {
    return !this.ended && this.sink !== undefined;
  }

  /** Whether the PTY is paused for lack of acknowledgements. */
  get isPaused(): boolean {
    return this.paused;
  }

  /** Output sent to the client and not yet acknowledged, in bytes. */
  get unacknowledged(): number {
    return this.seq - this.ackedSeq;
  }

  /**
   * Whether every byte after `lastSeq` is still kept, so a resume can replay exactly what was
   * missed. `lastSeq` must fall on a character boundary of the stream.
   */
  canReplayFrom(lastSeq: number): boolean {
    if (this.ended || lastSeq > this.seq) return false;
    const oldest = this.ring[0]?.start ?? this.seq;
    if (lastSeq < oldest) return false;
    const chunk = this.ring.find((item) => item.start < lastSeq && lastSeq < item.start + item.bytes.length);
    // Inside a chunk: only on a UTF-8 character boundary (not a continuation byte).
    return !chunk || (chunk.bytes[lastSeq - chunk.start] & 0xc0) !== 0x80;
  }

  /**
   * Gives the session to a new socket's `sink`, which has the stream up to `lastSeq`: the
   * previous holder (if any) gets `exit taken_over`, and once the attach is acknowledged the
   * new one gets every kept byte after `lastSeq`, then live output. Check
   * {@link canReplayFrom} first.
   */
  resume(sink: TerminalSink, lastSeq: number): void {
    clearTimeout(this.graceTimer);
    this.graceTimer = undefined;
    const previous = this.sink;
    this.setSink(sink, lastSeq);
    this.deliverFrom(sink, lastSeq);
    if (previous && previous !== sink) previous.exit('taken_over');
  }

  /**
   * The socket of `sink` is gone. A resumable session keeps reading for the grace period
   * (never paused while nobody acknowledges), then detaches; others detach now. A sink that
   * no longer holds the session (taken over) changes nothing.
   */
  release(sink: TerminalSink): void {
    if (this.ended || this.sink !== sink) return;
    this.sink = undefined;
    this.sinkReady = false;
    this.pinnedSeq = undefined;
    if (!this.resumable) return this.detach();
    this.setPaused(false);
    this.releasedAt = Date.now();
    this.graceTimer = setTimeout(() => this.detach(), this.flow.graceMs);
    this.graceTimer.unref?.();
    this.onKept?.();
  }

  /** Whether the session waits, without a socket, for a resume. */
  get kept(): boolean {
    return !this.ended && this.sink === undefined;
  }

  /** The client received output up to `seq`: reading resumes once under the low-water mark. */
  ack(seq: number): void {
    this.ackedSeq = Math.max(this.ackedSeq, Math.min(seq, this.seq));
    if (this.paused && this.unacknowledged <= this.flow.highWaterBytes / 4) this.setPaused(false);
  }

  /**
   * Types `data` into the shell. An input whose `seq` is not above the last applied one is a
   * resend and is dropped. Never held back by output back-pressure; held only until tmux's
   * first paint (at most {@link MAX_HELD_INPUT_BYTES}).
   * @throws DomainException FORBIDDEN (403) on a read-only session; RATE_LIMITED (429) for more
   *   input than that before the terminal has started
   */
  input(data: string, inputSeq?: number): void {
    if (this.readOnly) throw new DomainException(ErrorCode.FORBIDDEN, 'This terminal is read-only');
    const bytes = Buffer.byteLength(data, 'utf8');
    if (this.heldInput && this.heldInputBytes + bytes > MAX_HELD_INPUT_BYTES) {
      throw new DomainException(ErrorCode.RATE_LIMITED, 'The terminal is still starting; type again in a moment');
    }
    if (inputSeq !== undefined) {
      if (inputSeq <= this.lastInputSeq) return;
      this.lastInputSeq = inputSeq;
    }
    if (this.heldInput) {
      this.heldInput.push(data);
      this.heldInputBytes += bytes;
    } else {
      this.stream.write(data);
    }
    this.bytesIn += bytes;
    this.onInput?.();
  }

  /** tmux has painted: the input typed meanwhile goes to the shell, in order. */
  private releaseInput(): void {
    const held = this.heldInput ?? [];
    this.heldInput = undefined;
    if (held.length > 0) this.stream.write(held.join(''));
  }

  resize(cols: number, rows: number): void {
    this.stream.resize(cols, rows);
  }

  /**
   * Ends the session with `share_expired` at `expiresAt` (a guest's share link running out);
   * the timer goes with the session and never holds the process open.
   */
  expireAt(expiresAt: Date): void {
    clearTimeout(this.expiryTimer);
    // setTimeout takes at most 2^31-1 ms (24.8 days); a later expiry is set again then.
    const delay = Math.min(Math.max(0, expiresAt.getTime() - Date.now()), 2 ** 31 - 1);
    this.expiryTimer = setTimeout(() => {
      if (Date.now() >= expiresAt.getTime()) this.end('share_expired');
      else this.expireAt(expiresAt);
    }, delay);
    this.expiryTimer.unref?.();
  }

  /** Tells the client the environment's new status. */
  status(status: string): void {
    if (!this.ended && this.sink) this.sink.status(status);
  }

  /** Ends the session: the tmux client detaches (the shell lives on), the sink hears `reason`. */
  end(reason: ExitReason): void {
    if (this.ended) return;
    this.flush();
    const sink = this.sink;
    this.finish(reason);
    sink?.exit(reason);
  }

  /** Ends the session without telling the sink (its socket is already gone). */
  detach(): void {
    if (this.ended) return;
    this.finish('detached');
  }

  private finish(reason: ExitReason): void {
    this.ended = true;
    this.endReason = reason;
    clearTimeout(this.frameTimer);
    clearTimeout(this.graceTimer);
    clearTimeout(this.expiryTimer);
    this.sink = undefined;
    this.pending = [];
    this.pendingBytes = 0;
    this.ring.length = 0;
    this.ringBytes = 0;
    this.stream.close();
    this.onEnd(this);
  }

  /**
   * Starts sending output to the sink the session was created with, from its first byte. Call
   * it as the attach is answered: output goes out on the next macrotask, after the ack.
   */
  start(): void {
    if (this.sink) this.deliverFrom(this.sink, 0);
  }

  /** Makes `sink` the holder; nothing is sent to it until {@link deliverFrom}. */
  private setSink(sink: TerminalSink, fromSeq: number): void {
    this.sink = sink;
    this.sinkReady = false;
    this.ackedSeq = fromSeq;
    this.pinnedSeq = fromSeq;
  }

  /**
   * On the next macrotask — after the attach handler's ack went out, so the client learns where
   * its stream starts before any output — sends `sink` every kept byte after `fromSeq`, then
   * what was collected meanwhile, then live output.
   */
  private deliverFrom(sink: TerminalSink, fromSeq: number): void {
    setImmediate(() => {
      if (this.ended || this.sink !== sink || this.sinkReady) return;
      this.sinkReady = true;
      this.pinnedSeq = undefined;
      for (const chunk of this.ring) {
        const end = chunk.start + chunk.bytes.length;
        if (end <= fromSeq) continue;
        const bytes = chunk.start < fromSeq ? chunk.bytes.subarray(fromSeq - chunk.start) : chunk.bytes;
        this.bytesOut += bytes.length;
        sink.output(bytes.toString('utf8'), end);
      }
      this.trim();
      this.flush();
      this.applyBackPressure();
    });
  }

  private collect(data: string): void {
    if (this.ended) return;
    this.pending.push(data);
    this.pendingBytes += Buffer.byteLength(data, 'utf8');
    if (this.pendingBytes >= this.flow.frameBytes || this.idle()) this.flush();
    else this.frameTimer ??= setTimeout(() => this.flush(), this.flow.frameMs);
  }

  /**
   * Whether output may go out at once instead of waiting for a frame: Nagle's rule (RFC 896)
   * with the client's acks, so a keystroke's echo is not held for `frameMs` while a stream is
   * still coalesced — nothing is unacknowledged (Socket.IO), or, without acks (plain WebSocket),
   * no frame went out within `frameMs`.
   */
  private idle(): boolean {
    if (this.frameTimer || this.lastFrameBytes >= INTERACTIVE_FRAME_BYTES) return false;
    if (this.transport === 'socket.io') return this.sinkReady && this.unacknowledged === 0;
    return performance.now() - this.lastFlushAt >= this.flow.frameMs;
  }

  /** Sends what was collected as one frame, keeps it for replay, and pauses the PTY when too much is unacknowledged. */
  private flush(): void {
    clearTimeout(this.frameTimer);
    this.frameTimer = undefined;
    // A sink whose attach is not answered yet gets the output once it is (deliverFrom).
    if (this.pending.length === 0 || this.ended || (this.sink && !this.sinkReady)) return;
    this.lastFlushAt = performance.now();
    const text = this.pending.length === 1 ? this.pending[0] : this.pending.join('');
    // Counted as each chunk arrived: the frame is encoded only to be kept for a replay.
    const length = this.pendingBytes;
    this.pending = [];
    this.pendingBytes = 0;
    this.lastFrameBytes = length;
    const start = this.seq;
    this.seq += length;
    if (this.resumable) {
      this.ring.push({ start, bytes: Buffer.from(text, 'utf8') });
      this.ringBytes += length;
      this.trim();
    }
    if (this.sink && this.sinkReady) {
      this.bytesOut += length;
      this.sink.output(text, this.seq);
    }
    this.applyBackPressure();
  }

  private trim(): void {
    while (this.ringBytes > this.flow.replayBytes && this.ring.length > 0) {
      const oldest = this.ring[0];
      if (this.pinnedSeq !== undefined && oldest.start + oldest.bytes.length > this.pinnedSeq) break;
      this.ring.shift();
      this.ringBytes -= oldest.bytes.length;
    }
  }

  /** Only a Socket.IO client with its sink acknowledges output; nobody else ever pauses the PTY. */
  private applyBackPressure(): void {
    if (this.transport !== 'socket.io' || !this.sink) return;
    if (!this.paused && this.unacknowledged > this.flow.highWaterBytes) this.setPaused(true);
  }

  private setPaused(paused: boolean): void {
    if (this.paused === paused || this.ended) return;
    this.paused = paused;
    if (paused) this.stream.pause();
    else this.stream.resume();
  }
}

/** A recorded terminal session (API.md GET /environments/:id/terminal-sessions). */
export interface TerminalSessionView {
  id: string;
  transport: TerminalSession['transport'];
  client: string | null;
  readOnly: boolean;
  shareId: string | null;
  startedAt: string;
  endedAt: string | null;
  endReason: string | null;
  bytesIn: number;
  bytesOut: number;
  /** Still held by this server (attached, or kept for a resume). */
  live: boolean;
}

/** How often the byte counters of running sessions are written, in milliseconds. */
const BYTES_FLUSH_MS = 30_000;
/** Least time between two writes of an environment's `lastActivityAt`, in milliseconds. */
const ACTIVITY_WRITE_MS = 60_000;
/** Longest recorded client description (the socket's user agent). */
const MAX_CLIENT_LENGTH = 200;

/** Statuses after which an environment's shell is gone or going: attached clients are let go. */
const SHELL_ENDING = new Set<EnvironmentStatusChange['status']>(['stopping', 'stopped', 'restarting', 'terminating', 'deleted', 'error']);

/**
 * The one terminal service behind both transports (Socket.IO and plain WebSocket): checks
 * ownership and state, opens a tmux client through the runtime, counts output bytes, forwards
 * status changes and ends sessions when their environment stops.
 */
@Injectable()
export class TerminalService implements OnModuleInit, BeforeApplicationShutdown {
  private readonly logger = new Logger(TerminalService.name);
  private readonly sessions = new Map<string, Set<TerminalSession>>();
  private readonly byId = new Map<string, TerminalSession>();
  private readonly flow: TerminalFlowOptions;
  private readonly maxConnectionsPerUser: number;
  private readonly maxKeptPerUser: number;
  /** Set once the server is shutting down: attaches are refused, so a client told to reconnect lands on the next server. */
  private shuttingDown = false;
  /** Attaches of each user past the connection check and still opening their terminal. */
  private readonly opening = new Map<string, number>();
  /** Each session's pending writes, chained so they land in order (insert first). */
  private readonly writes = new Map<string, Promise<void>>();
  /** The byte counts last written per live session (`in/out`). */
  private readonly flushedBytes = new Map<string, string>();
  /** When each environment's `lastActivityAt` was last written (epoch ms). */
  private readonly activityWrittenAt = new Map<string, number>();
  private flushTimer?: NodeJS.Timeout;
  private shareCheckTimer?: NodeJS.Timeout;
  private readonly shareCheckMs: number;
  private subscription?: Subscription;
  private revocations?: Subscription;

  constructor(
    private readonly environments: EnvironmentsService,
    private readonly runtimes: RuntimeRegistry,
    private readonly events: EnvironmentEvents,
    private readonly records: TerminalSessionsRepository,
    private readonly shares: SharesService,
    config: AppConfig,
    metrics: MetricsService,
  ) {
    const sessions = this.byId;
    new Gauge({
      name: 'devpocket_terminal_sessions',
      help: 'Terminal sessions held by this server: attached to a socket, or kept for a resume',
      labelNames: ['state'],
      registers: [metrics.registry],
      collect() {
        let attached = 0;
        for (const session of sessions.values()) if (session.connected) attached += 1;
        this.set({ state: 'attached' }, attached);
        this.set({ state: 'kept' }, sessions.size - attached);
      },
    });
    this.maxConnectionsPerUser = config.TERMINAL_MAX_CONNECTIONS_PER_USER;
    this.maxKeptPerUser = config.TERMINAL_MAX_KEPT_SESSIONS_PER_USER;
    this.shareCheckMs = config.TERMINAL_HEARTBEAT_SECONDS * 1000;
    this.flow = {
      ...DEFAULT_FLOW,
      replayBytes: config.TERMINAL_REPLAY_BYTES,
      highWaterBytes: config.TERMINAL_HIGH_WATER_BYTES,
      graceMs: config.TERMINAL_RESUME_SECONDS * 1000,
    };
  }

  onModuleInit(): void {
    this.subscription = this.events.statusChanges().subscribe((change) => this.onStatusChange(change));
    this.revocations = this.shares.revocations().subscribe((shareId) => this.endShared(shareId, 'share_revoked'));
    this.flushTimer = setInterval(() => this.flushBytes(), BYTES_FLUSH_MS);
    this.flushTimer.unref?.();
    this.shareCheckTimer = setInterval(() => void this.checkShares(), this.shareCheckMs);
    this.shareCheckTimer.unref?.();
  }

  /**
   * The environment when `caller` may attach to it: the user owns it, or the guest's share link is for it.
   * @throws DomainException ENVIRONMENT_NOT_FOUND (404), also for another user's environment
   */
  async findEnvironment(caller: TerminalCaller, environmentId: string): Promise<EnvironmentDto> {
    return toEnvironmentDto(await this.environments.getOwned(this.ownerFor(caller, environmentId), environmentId));
  }

  /**
   * The owner whose environment `caller` reaches: the user, or the owner of a guest's shared environment.
   * @throws DomainException ENVIRONMENT_NOT_FOUND (404) for a guest's other environment
   */
  private ownerFor(caller: TerminalCaller, environmentId: string): string {
    if (!caller.grant) return caller.user.id;
    if (caller.grant.environmentId !== environmentId) throw new DomainException(ErrorCode.ENVIRONMENT_NOT_FOUND, 'Environment not found');
    return caller.grant.ownerId;
  }

  /**
   * The environment's log, followed, when `user` owns it.
   * @throws DomainException ENVIRONMENT_NOT_FOUND (404)
   */
  followLogs(user: AuthUser, environmentId: string, tail: number): Promise<Observable<string>> {
    return this.environments.followLogs(user.id, environmentId, tail);
  }

  /**
   * Attaches `sink` for `caller`: a user to one of their environments, or a guest with a share
   * link to the shared environment (read-only unless the link's mode is `write`; every attach is
   * recorded on the link and audited). With the `sessionId` and `lastSeq` of a session still
   * kept for the same caller, environment and access mode, whose kept output covers everything
   * after `lastSeq`, the session is resumed (`resume: "replay"`, taken over from another socket
   * if one holds it). Otherwise a new tmux client is attached, whose first paint is tmux's full
   * redraw (`resume: "redraw"` when a sessionId was given, `"new"` otherwise). A user, and each
   * share link, holds at most TERMINAL_MAX_CONNECTIONS_PER_USER connected sessions (both
   * transports); taking over a session another socket holds does not add one.
   * @throws DomainException ENVIRONMENT_NOT_FOUND (404), also for a guest's attach to another environment;
   *   UNAUTHORIZED (401) for a share link expired since the socket connected; ENVIRONMENT_NOT_RUNNING (422);
   *   TOO_MANY_CONNECTIONS (429); SERVER_RESTARTING (503) once the server is shutting down
   */
  async attach(
    caller: TerminalCaller,
    request: AttachRequest,
    transport: TerminalSession['transport'],
    sink: TerminalSink,
    info: TerminalClientInfo = {},
  ): Promise<{ session: TerminalSession; result: AttachResult }> {
    this.assertAccepting();
    const { grant } = caller;
    const ownerId = this.ownerFor(caller, request.environmentId);
    if (grant && grant.expiresAt.getTime() <= Date.now()) throw new DomainException(ErrorCode.UNAUTHORIZED, 'The share link has expired');
    const shareId = grant?.shareId ?? null;
    const principal = principalOf(ownerId, shareId);
    const env = await this.environments.getOwned(ownerId, request.environmentId);
    this.assertAccepting();
    if (env.status !== 'running') throw new DomainException(ErrorCode.ENVIRONMENT_NOT_RUNNING, `The environment is ${env.status}, not running`);
    const readOnly = grant?.mode === 'read' || (request.readOnly ?? false);
    if (request.sessionId && request.lastSeq !== undefined && transport === 'socket.io') {
      const kept = this.byId.get(request.sessionId);
      if (
        kept?.resumable &&
        kept.principal === principal &&
        kept.environmentId === env.id &&
        kept.readOnly === readOnly &&
        kept.canReplayFrom(request.lastSeq)
      ) {
        if (!kept.connected) this.checkConnectionLimit(principal);
        kept.resume(sink, request.lastSeq);
        return { session: kept, result: { sessionId: kept.id, seq: request.lastSeq, resume: 'replay', readOnly } };
      }
    }
    this.checkConnectionLimit(principal);
    this.opening.set(principal, (this.opening.get(principal) ?? 0) + 1);
    let stream: TerminalStream;
    try {
      const runtime = await this.runtimes.forEnvironment(env);
      stream = await runtime.openTerminal({ id: env.id, userId: env.userId, name: env.name }, { cols: request.cols, rows: request.rows, readOnly });
    } catch (error) {
      if (error instanceof RuntimeError && error.reason === 'NotRunning') {
        throw new DomainException(ErrorCode.ENVIRONMENT_NOT_RUNNING, 'The environment is not running');
      }
      throw error;
    } finally {
      const opening = (this.opening.get(principal) ?? 1) - 1;
      if (opening > 0) this.opening.set(principal, opening);
      else this.opening.delete(principal);
    }
    if (this.shuttingDown) {
      stream.close();
      this.assertAccepting();
    }
    const session = new TerminalSession(env.id, ownerId, shareId, readOnly, transport, stream, sink, (ended) => this.forget(ended), this.flow);
    session.onInput = () => this.touchActivity(session.environmentId);
    session.onKept = () => this.enforceKeptLimit(session.principal);
    const live = this.sessions.get(env.id) ?? new Set<TerminalSession>();
    live.add(session);
    this.sessions.set(env.id, live);
    this.byId.set(session.id, session);
    if (grant) session.expireAt(grant.expiresAt);
    const client = info.client?.trim().slice(0, MAX_CLIENT_LENGTH) || null;
    // Awaited, so the session is listed once the attach is acknowledged; a failed write never fails the attach.
    await this.persist(session.id, () =>
      this.records.insert({ id: session.id, environmentId: env.id, userId: ownerId, shareId, transport, client, readOnly, startedAt: session.startedAt }),
    );
    if (grant) await this.shares.recordUse(grant, { transport, sessionId: session.id, client, ip: info.ip ?? null });
    session.start();
    const resume = request.sessionId ? 'redraw' : 'new';
    return { session, result: { sessionId: session.id, seq: 0, resume, readOnly } };
  }

  /**
   * A page of the environment's terminal sessions, newest first, when `user` owns it.
   * @throws DomainException ENVIRONMENT_NOT_FOUND (404), also for another user's environment
   */
  async listSessions(user: AuthUser, environmentId: string, page: { limit: number; offset: number }): Promise<Page<TerminalSessionView>> {
    await this.environments.getOwned(user.id, environmentId);
    const [rows, total] = await this.records.listForEnvironment(environmentId, page);
    return { items: rows.map((row) => this.view(row)), total, limit: page.limit, offset: page.offset };
  }

  /**
   * Ends a session of the environment held by this server: its client gets `exit session_killed`.
   * The owner of the environment or an admin may; a session already ended is left as it is.
   * @throws DomainException ENVIRONMENT_NOT_FOUND (404) for a non-admin on another user's environment, NOT_FOUND (404) for an unknown session
   */
  async killSession(user: AuthUser, environmentId: string, sessionId: string): Promise<void> {
    if (user.role !== 'admin') await this.environments.getOwned(user.id, environmentId);
    const live = this.byId.get(sessionId);
    if (live && live.environmentId === environmentId) {
      live.end('session_killed');
      return;
    }
    const recorded = await this.records.findInEnvironment(environmentId, sessionId);
    if (!recorded) throw new DomainException(ErrorCode.NOT_FOUND, 'Terminal session not found');
  }

  /** The sessions kept on an environment, attached or waiting for a resume (for tests and diagnostics). */
  list(environmentId: string): TerminalSession[] {
    return [...(this.sessions.get(environmentId) ?? [])];
  }

  /** The session kept under `id`, if any (for tests and diagnostics). */
  find(id: string): TerminalSession | undefined {
    return this.byId.get(id);
  }

  /**
   * Tells every attached client to reconnect, and detaches them (the shells live on in tmux).
   * Runs before Nest closes the HTTP server and Socket.IO, so the `exit` still reaches them.
   */
  async beforeApplicationShutdown(): Promise<void> {
    this.shuttingDown = true;
    this.subscription?.unsubscribe();
    this.revocations?.unsubscribe();
    clearInterval(this.flushTimer);
    clearInterval(this.shareCheckTimer);
    for (const live of [...this.sessions.values()]) for (const session of [...live]) session.end('server_restart');
    // The end of each session is recorded before the database connection closes.
    await Promise.all([...this.writes.values()]);
  }

  private onStatusChange(change: EnvironmentStatusChange): void {
    const live = this.sessions.get(change.environmentId);
    if (!live) return;
    for (const session of [...live]) {
      try {
        if (change.status !== 'deleted') session.status(change.status);
        if (SHELL_ENDING.has(change.status)) session.end('environment_stopped');
      } catch (error) {
        this.logger.warn(`could not notify terminal session ${session.id}: ${(error as Error).message}`);
      }
    }
  }

  /** @throws DomainException SERVER_RESTARTING (503) once the server is shutting down */
  private assertAccepting(): void {
    if (this.shuttingDown) throw new DomainException(ErrorCode.SERVER_RESTARTING, 'The server is restarting; reconnect in a moment');
  }

  /** Ends every session a guest holds through share link `shareId`: its client gets `exit {reason}`. */
  private endShared(shareId: string, reason: 'share_revoked' | 'share_expired'): void {
    for (const session of [...this.byId.values()]) if (session.shareId === shareId) session.end(reason);
  }

  /**
   * Ends the guest sessions whose share link is no longer usable — revoked on another replica
   * (this one's revocations end them at once), deleted, or of a deactivated owner — once a
   * heartbeat. A failed check is logged and tried again at the next one.
   */
  private async checkShares(): Promise<void> {
    const held = new Set<string>();
    for (const session of this.byId.values()) if (session.shareId) held.add(session.shareId);
    if (held.size === 0) return;
    try {
      for (const { id, expired } of await this.shares.unusable([...held])) this.endShared(id, expired ? 'share_expired' : 'share_revoked');
    } catch (error) {
      this.logger.warn(`could not check the share links of guest terminals: ${(error as Error).message}`);
    }
  }

  /** Ends the sessions of `principal` kept longest without a socket, past TERMINAL_MAX_KEPT_SESSIONS_PER_USER. */
  private enforceKeptLimit(principal: string): void {
    const kept = [...this.byId.values()].filter((session) => session.principal === principal && session.kept);
    if (kept.length <= this.maxKeptPerUser) return;
    kept.sort((a, b) => (a.releasedAt ?? 0) - (b.releasedAt ?? 0));
    for (const session of kept.slice(0, kept.length - this.maxKeptPerUser)) session.detach();
  }

  /** @throws DomainException TOO_MANY_CONNECTIONS (429) when `principal` holds the most connected sessions allowed */
  private checkConnectionLimit(principal: string): void {
    let count = this.opening.get(principal) ?? 0;
    for (const session of this.byId.values()) if (session.principal === principal && session.connected) count += 1;
    if (count >= this.maxConnectionsPerUser) {
      throw new DomainException(
        ErrorCode.TOO_MANY_CONNECTIONS,
        `At most ${this.maxConnectionsPerUser} terminal connections at once; close one first`,
      );
    }
  }

  private view(row: TerminalSessionEntity): TerminalSessionView {
    const live = this.byId.get(row.id);
    return {
      id: row.id,
      transport: row.transport,
      client: row.client,
      readOnly: row.readOnly,
      shareId: row.shareId,
      startedAt: row.startedAt.toISOString(),
      endedAt: row.endedAt?.toISOString() ?? null,
      endReason: row.endReason,
      // A live session's counters are newer in memory than in its row.
      bytesIn: live ? live.bytesIn : Number(row.bytesIn),
      bytesOut: live ? live.bytesOut : Number(row.bytesOut),
      live: live !== undefined,
    };
  }

  /** Writes `lastActivityAt` on input, at most once per {@link ACTIVITY_WRITE_MS} per environment. */
  private touchActivity(environmentId: string): void {
    const now = Date.now();
    const last = this.activityWrittenAt.get(environmentId);
    if (last !== undefined && now - last < ACTIVITY_WRITE_MS) return;
    this.activityWrittenAt.set(environmentId, now);
    this.environments.touchActivity(environmentId, new Date(now)).catch((error: unknown) => {
      this.logger.warn(`could not record activity of environment ${environmentId}: ${(error as Error).message}`);
    });
  }

  /** Writes the byte counters of running sessions that changed since their last write. */
  private flushBytes(): void {
    for (const session of this.byId.values()) {
      const counts = `${session.bytesIn}/${session.bytesOut}`;
      if (this.flushedBytes.get(session.id) === counts) continue;
      this.flushedBytes.set(session.id, counts);
      const { bytesIn, bytesOut } = session;
      void this.persist(session.id, () => this.records.updateBytes(session.id, bytesIn, bytesOut));
    }
  }

  /** Runs `work` after the session's earlier writes; a failure is logged, never thrown. */
  private persist(sessionId: string, work: () => Promise<void>): Promise<void> {
    const next = (this.writes.get(sessionId) ?? Promise.resolve()).then(work).catch((error: unknown) => {
      this.logger.warn(`could not record terminal session ${sessionId}: ${(error as Error).message}`);
    });
    this.writes.set(sessionId, next);
    void next.then(() => {
      if (this.writes.get(sessionId) === next) this.writes.delete(sessionId);
    });
    return next;
  }

  private forget(session: TerminalSession): void {
    this.flushedBytes.delete(session.id);
    const endedAt = new Date();
    const { bytesIn, bytesOut } = session;
    void this.persist(session.id, () => this.records.markEnded(session.id, endedAt, session.endReason ?? 'detached', bytesIn, bytesOut));
    this.byId.delete(session.id);
    const live = this.sessions.get(session.environmentId);
    live?.delete(session);
    if (live?.size === 0) this.sessions.delete(session.environmentId);
  }
}
