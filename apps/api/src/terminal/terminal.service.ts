import { randomUUID } from 'node:crypto';
import { Injectable, Logger, type BeforeApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { RuntimeError, type TerminalStream } from '@devpocket/runtime';
import type { Observable, Subscription } from 'rxjs';
import type { AuthUser } from '../auth/auth-user.js';
import { DomainException, ErrorCode } from '../common/domain.exception.js';
import { toEnvironmentDto, type EnvironmentDto } from '../environments/dto/environment.dto.js';
import { EnvironmentEvents, type EnvironmentStatusChange } from '../environments/environment-events.js';
import { EnvironmentsService } from '../environments/environments.service.js';
import { RuntimeRegistry } from '../runtime/runtime.module.js';

/** Why a terminal ended, as sent in the `exit` event. */
export type ExitReason = 'environment_stopped' | 'session_ended' | 'server_restart' | 'detached';

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

/**
 * One terminal session: one tmux client kept by the server, and the byte count of its output
 * stream (`seq`). Input may carry the client's own sequence number, so a resent input is
 * applied once.
 */
export class TerminalSession {
  readonly id = randomUUID();
  /** UTF-8 bytes of output sent so far. */
  seq = 0;
  private lastInputSeq = -1;
  private ended = false;

  constructor(
    readonly environmentId: string,
    readonly userId: string,
    readonly readOnly: boolean,
    readonly transport: 'socket.io' | 'websocket',
    private readonly stream: TerminalStream,
    private readonly sink: TerminalSink,
    private readonly onEnd: (session: TerminalSession) => void,
  ) {
    stream.onData((data) => {
      this.seq += Buffer.byteLength(data, 'utf8');
      this.sink.output(data, this.seq);
    });
    stream.onExit(() => this.end('session_ended'));
  }

  /**
   * Types `data` into the shell. An input whose `seq` is not above the last applied one is a
   * resend and is dropped.
   * @throws DomainException FORBIDDEN (403) on a read-only session
   */
  input(data: string, inputSeq?: number): void {
    if (this.readOnly) throw new DomainException(ErrorCode.FORBIDDEN, 'This terminal is read-only');
    if (inputSeq !== undefined) {
      if (inputSeq <= this.lastInputSeq) return;
      this.lastInputSeq = inputSeq;
    }
    this.stream.write(data);
  }

  resize(cols: number, rows: number): void {
    this.stream.resize(cols, rows);
  }

  /** Tells the client the environment's new status. */
  status(status: string): void {
    if (!this.ended) this.sink.status(status);
  }

  /** Ends the session: the tmux client detaches (the shell lives on), the sink hears `reason`. */
  end(reason: ExitReason): void {
    if (this.ended) return;
    this.ended = true;
    this.stream.close();
    this.onEnd(this);
    this.sink.exit(reason);
  }

  /** Ends the session without telling the sink (its socket is already gone). */
  detach(): void {
    if (this.ended) return;
    this.ended = true;
    this.stream.close();
    this.onEnd(this);
  }
}

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
  private subscription?: Subscription;

  constructor(
    private readonly environments: EnvironmentsService,
    private readonly runtimes: RuntimeRegistry,
    private readonly events: EnvironmentEvents,
  ) {}

  onModuleInit(): void {
    this.subscription = this.events.statusChanges().subscribe((change) => this.onStatusChange(change));
  }

  /**
   * The environment when `user` owns it.
   * @throws DomainException ENVIRONMENT_NOT_FOUND (404), also for another user's environment
   */
  async findEnvironment(user: AuthUser, environmentId: string): Promise<EnvironmentDto> {
    return toEnvironmentDto(await this.environments.getOwned(user.id, environmentId));
  }

  /**
   * The environment's log, followed, when `user` owns it.
   * @throws DomainException ENVIRONMENT_NOT_FOUND (404)
   */
  followLogs(user: AuthUser, environmentId: string, tail: number): Promise<Observable<string>> {
    return this.environments.followLogs(user.id, environmentId, tail);
  }

  /**
   * Attaches a new tmux client of the environment's session for `user`. A `sessionId` of a
   * session that is no longer kept gets a new session with a full redraw (`resume: "redraw"`).
   * @throws DomainException ENVIRONMENT_NOT_FOUND (404), ENVIRONMENT_NOT_RUNNING (422)
   */
  async attach(user: AuthUser, request: AttachRequest, transport: TerminalSession['transport'], sink: TerminalSink): Promise<{ session: TerminalSession; result: AttachResult }> {
    const env = await this.environments.getOwned(user.id, request.environmentId);
    if (env.status !== 'running') throw new DomainException(ErrorCode.ENVIRONMENT_NOT_RUNNING, `The environment is ${env.status}, not running`);
    const readOnly = request.readOnly ?? false;
    let stream: TerminalStream;
    try {
      const runtime = await this.runtimes.forEnvironment(env);
      stream = await runtime.openTerminal({ id: env.id, userId: env.userId, name: env.name }, { cols: request.cols, rows: request.rows, readOnly });
    } catch (error) {
      if (error instanceof RuntimeError && error.reason === 'NotRunning') {
        throw new DomainException(ErrorCode.ENVIRONMENT_NOT_RUNNING, 'The environment is not running');
      }
      throw error;
    }
    const session = new TerminalSession(env.id, user.id, readOnly, transport, stream, sink, (ended) => this.forget(ended));
    const live = this.sessions.get(env.id) ?? new Set<TerminalSession>();
    live.add(session);
    this.sessions.set(env.id, live);
    const resume = request.sessionId ? 'redraw' : 'new';
    return { session, result: { sessionId: session.id, seq: 0, resume, readOnly } };
  }

  /**
   * Tells every attached client to reconnect, and detaches them (the shells live on in tmux).
   * Runs before Nest closes the HTTP server and Socket.IO, so the `exit` still reaches them.
   */
  beforeApplicationShutdown(): void {
    this.subscription?.unsubscribe();
    for (const live of [...this.sessions.values()]) for (const session of [...live]) session.end('server_restart');
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

  private forget(session: TerminalSession): void {
    const live = this.sessions.get(session.environmentId);
    live?.delete(session);
    if (live?.size === 0) this.sessions.delete(session.environmentId);
  }
}
