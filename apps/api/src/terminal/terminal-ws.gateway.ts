import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';
import { Injectable, Logger, type OnApplicationBootstrap, type BeforeApplicationShutdown } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { assertKeyScopes } from '../api-keys/api-key-scopes.js';
import type { AuthUser } from '../auth/auth-user.js';
import { AuthService } from '../auth/auth.service.js';
import { SharesService } from '../shares/shares.service.js';
import { AppConfig } from '../config/app-config.js';
import { DomainException, ErrorCode } from '../common/domain.exception.js';
import { MAX_COLS, MAX_ROWS, MIN_COLS, MIN_ROWS, parseInput, parseMessage, ResizeMessage } from './dto/terminal-messages.dto.js';
import type { EnvironmentDto } from '../environments/dto/environment.dto.js';
import { TerminalService, type TerminalCaller, type TerminalSession } from './terminal.service.js';

/** `/api/v1/ws/terminal/{environmentId}` and `/api/v1/ws/logs/{environmentId}` (API.md "Terminal and logs over plain WebSocket"). */
const WS_PATH = /^\/api\/v1\/ws\/(terminal|logs)\/([^/]+)\/?$/;
/** Lines of log history sent before following, unless `?tail=` says otherwise (0–10 000). */
const DEFAULT_LOG_TAIL = 100;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Largest frame accepted from a client, in bytes. */
const MAX_FRAME_BYTES = 256 * 1024;
/** Frames a client may send between the upgrade and the end of the attach; more are refused. */
const MAX_PENDING_FRAMES = 64;
/** WebSocket close codes (RFC 6455 §7.4.1; 4000–4999 for the application). */
const CLOSE_NORMAL = 1000;
const CLOSE_GOING_AWAY = 1001;
const CLOSE_POLICY = 1008;
const CLOSE_NOT_RUNNING = 4409;

/** Refuses an upgrade with a plain HTTP answer carrying the error body of API.md. */
function refuse(socket: Duplex, statusCode: number, code: string, message: string): void {
  const body = JSON.stringify({ statusCode, code, message });
  const reason = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 500: 'Internal Server Error', 503: 'Service Unavailable' }[statusCode] ?? 'Error';
  socket.end(
    `HTTP/1.1 ${statusCode} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

function clamp(value: string | null, min: number, max: number, fallback: number): number {
  const number = value === null ? NaN : Number(value);
  return Number.isInteger(number) ? Math.min(max, Math.max(min, number)) : fallback;
}

/**
 * The original mobile protocol: a plain WebSocket of JSON text frames per terminal, on the
 * same HTTP server as Socket.IO (which keeps `/socket.io`). The access token or API key comes
 * as `?token=` (or an `X-API-Key` or `Authorization: Bearer` header), a guest's share token as
 * `?shareToken=` (terminal only, not logs); a bad one is refused at
 * the upgrade with 401, a key without the needed scope with 403, a missing or foreign
 * environment with 404. `welcome` is the first frame. Every socket is pinged each
 * TERMINAL_HEARTBEAT_SECONDS (RFC 6455 §5.5.2) and dropped when it has not answered by the
 * next ping; during a shutdown new upgrades are refused with 503 SERVER_RESTARTING.
 */
@Injectable()
export class TerminalWsGateway implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(TerminalWsGateway.name);
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });
  private server?: HttpServer;
  private heartbeat?: NodeJS.Timeout;
  /** Sockets that answered (a pong or any frame) since the last heartbeat. */
  private readonly alive = new WeakSet<WebSocket>();
  private closing = false;
  private readonly onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => this.upgrade(request, socket, head);

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly auth: AuthService,
    private readonly terminals: TerminalService,
    private readonly shares: SharesService,
    private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.server = this.adapterHost.httpAdapter.getHttpServer() as HttpServer;
    this.server.on('upgrade', this.onUpgrade);
    this.heartbeat = setInterval(() => this.checkHeartbeats(), this.config.TERMINAL_HEARTBEAT_SECONDS * 1000);
    this.heartbeat.unref?.();
  }

  beforeApplicationShutdown(): void {
    // The upgrade listener stays until the HTTP server closes, refusing: a client told to
    // reconnect must not land on this dying server.
    this.closing = true;
    clearInterval(this.heartbeat);
    for (const client of this.wss.clients) client.close(CLOSE_GOING_AWAY, 'server_restart');
    this.wss.close();
  }

  /** Counts a pong or any frame of `ws` as an answer to the heartbeat. */
  private watchHeartbeat(ws: WebSocket): void {
    this.alive.add(ws);
    ws.on('pong', () => this.alive.add(ws));
    ws.on('message', () => this.alive.add(ws));
  }

  /** Drops the sockets that did not answer since the last heartbeat, and pings the others. */
  private checkHeartbeats(): void {
    for (const ws of this.wss.clients) {
      if (!this.alive.has(ws)) {
        this.logger.debug('dropping a websocket that missed its heartbeat');
        ws.terminate();
        continue;
      }
      this.alive.delete(ws);
      ws.ping();
    }
  }

  private upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (url.pathname.startsWith('/socket.io/')) return; // Socket.IO's own upgrade listener answers it.
    socket.on('error', (error) => this.logger.debug(`upgrade socket error: ${error.message}`));
    const match = WS_PATH.exec(url.pathname);
    if (!match) return refuse(socket, 404, ErrorCode.NOT_FOUND, 'No WebSocket endpoint at this path');
    if (this.closing) return refuse(socket, 503, ErrorCode.SERVER_RESTARTING, 'The server is restarting; reconnect in a moment');
    const [, endpoint, rawId] = match;
    void this.authorize(request, url, endpoint, rawId).then(
      ({ caller, environment }) =>
        this.wss.handleUpgrade(request, socket, head, (ws) => {
          this.watchHeartbeat(ws);
          // authorize() lets guests open terminals only, so a logs caller is a user.
          if (endpoint === 'logs') return caller.user && this.serveLogs(ws, caller.user, environment.id, clamp(url.searchParams.get('tail'), 0, 10_000, DEFAULT_LOG_TAIL));
          return this.serve(ws, caller, environment, request.socket.remoteAddress, request.headers['user-agent'], clamp(url.searchParams.get('cols'), MIN_COLS, MAX_COLS, 80), clamp(url.searchParams.get('rows'), MIN_ROWS, MAX_ROWS, 24));
        }),
      (error: unknown) => {
        if (error instanceof DomainException) refuse(socket, error.status, error.code, error.message);
        else {
          this.logger.error(`terminal upgrade failed: ${(error as Error)?.stack ?? String(error)}`);
          refuse(socket, 500, ErrorCode.INTERNAL_ERROR, 'Internal server error');
        }
      },
    );
  }

  /**
   * Authenticates the upgrade (access token, API key, or a share token for a terminal) and
   * checks the caller may reach the environment. A key needs `terminal` for a terminal,
   * `environments:read` for logs.
   * @throws DomainException UNAUTHORIZED (401), FORBIDDEN (403), INVALID_ID (400), ENVIRONMENT_NOT_FOUND (404)
   */
  private async authorize(request: IncomingMessage, url: URL, endpoint: string, rawId: string): Promise<{ caller: TerminalCaller; environment: EnvironmentDto }> {
    const header = request.headers.authorization;
    const apiKeyHeader = request.headers['x-api-key'];
    const token =
      url.searchParams.get('token') ?? (typeof apiKeyHeader === 'string' ? apiKeyHeader : null) ?? (header?.startsWith('Bearer ') ? header.slice(7) : null);
    const shareToken = url.searchParams.get('shareToken');
    let caller: TerminalCaller;
    if (token) {
      const user = await this.auth.authenticate(token);
      assertKeyScopes(user, [endpoint === 'logs' ? 'environments:read' : 'terminal']);
      caller = { user };
    } else if (shareToken && endpoint === 'terminal') {
      caller = { grant: await this.shares.authenticate(shareToken) };
    } else {
      throw new DomainException(ErrorCode.UNAUTHORIZED, 'An access token or API key is required (?token=), or a share token for a terminal (?shareToken=)');
    }
    const environmentId = decodeURIComponent(rawId);
    if (!UUID.test(environmentId)) throw new DomainException(ErrorCode.INVALID_ID, 'The environment id must be a UUID');
    return { caller, environment: await this.terminals.findEnvironment(caller, environmentId) };
  }

  private async serve(ws: WebSocket, caller: TerminalCaller, environment: EnvironmentDto, ip: string | undefined, client: string | undefined, cols: number, rows: number): Promise<void> {
    const send = (frame: Record<string, unknown>) => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(frame));
    };
    let session: TerminalSession | undefined;
    let closed = false;
    // A client types as soon as `welcome` arrives, while the tmux client is still starting:
    // its frames wait here (bounded) and are applied in order once attached.
    let pending: Array<{ raw: RawData; isBinary: boolean }> | undefined = [];
    const handle = (raw: RawData, isBinary: boolean) => {
      try {
        if (!session) throw new DomainException(ErrorCode.ENVIRONMENT_NOT_RUNNING, 'The terminal is not attached');
        this.onFrame(session, raw, isBinary, send);
      } catch (error) {
        send({ type: 'error', ...this.describe(error) });
      }
    };
    ws.on('close', () => {
      closed = true;
      session?.detach();
    });
    ws.on('error', (error) => this.logger.debug(`terminal websocket error: ${error.message}`));
    ws.on('message', (raw: RawData, isBinary: boolean) => {
      if (!pending) return handle(raw, isBinary);
      if (pending.length < MAX_PENDING_FRAMES) pending.push({ raw, isBinary });
      else send({ type: 'error', code: ErrorCode.RATE_LIMITED, message: 'Too many frames before the terminal is attached' });
    });
    try {
      // The environment as authorized at the upgrade, a moment ago; attach() checks its state again.
      send({ type: 'welcome', environment });
      const attached = await this.terminals.attach(caller, { environmentId: environment.id, cols, rows }, 'websocket', {
        output: (data) => send({ type: 'output', data }),
        status: (status) => send({ type: 'status_update', status }),
        exit: (reason) => {
          send({ type: 'exit', reason });
          ws.close(CLOSE_NORMAL, reason);
        },
      }, { client, ip });
      session = attached.session;
      if (closed) session.detach();
      const queued = pending;
      pending = undefined;
      for (const frame of queued) handle(frame.raw, frame.isBinary);
    } catch (error) {
      pending = undefined;
      const described = this.describe(error);
      send({ type: 'error', ...described });
      ws.close(described.code === ErrorCode.ENVIRONMENT_NOT_RUNNING ? CLOSE_NOT_RUNNING : CLOSE_POLICY, described.code);
    }
  }

  /** Streams the environment's log as `{"type":"log","line":...}` frames until either side closes. */
  private async serveLogs(ws: WebSocket, user: AuthUser, environmentId: string, tail: number): Promise<void> {
    const send = (frame: Record<string, unknown>) => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(frame));
    };
    ws.on('error', (error) => this.logger.debug(`logs websocket error: ${error.message}`));
    try {
      const lines = await this.terminals.followLogs(user, environmentId, tail);
      if (ws.readyState !== ws.OPEN) return;
      const subscription = lines.subscribe({
        next: (line) => send({ type: 'log', line }),
        error: (error: unknown) => {
          send({ type: 'error', ...this.describe(error) });
          ws.close(CLOSE_POLICY, 'log_error');
        },
        complete: () => ws.close(CLOSE_NORMAL, 'log_ended'),
      });
      ws.on('close', () => subscription.unsubscribe());
    } catch (error) {
      send({ type: 'error', ...this.describe(error) });
      ws.close(CLOSE_POLICY, 'log_error');
    }
  }

  private onFrame(session: TerminalSession, raw: RawData, isBinary: boolean, send: (frame: Record<string, unknown>) => void): void {
    if (isBinary) throw new DomainException(ErrorCode.VALIDATION_FAILED, 'Frames must be JSON text');
    let frame: unknown;
    try {
      frame = JSON.parse(raw.toString());
    } catch {
      throw new DomainException(ErrorCode.INVALID_JSON, 'The frame is not valid JSON');
    }
    const { type, ...payload } = (typeof frame === 'object' && frame !== null ? frame : {}) as { type?: unknown };
    switch (type) {
      case 'input': {
        const message = parseInput(payload);
        session.input(message.data, message.seq);
        return;
      }
      case 'resize': {
        const message = parseMessage(ResizeMessage, payload);
        session.resize(message.cols, message.rows);
        return;
      }
      case 'ping':
        send({ type: 'pong' });
        return;
      default:
        throw new DomainException(ErrorCode.VALIDATION_FAILED, 'type must be one of input, resize, ping');
    }
  }

  private describe(error: unknown): { code: string; message: string } {
    if (error instanceof DomainException) return { code: error.code, message: error.message };
    this.logger.error(`terminal websocket failed: ${(error as Error)?.stack ?? String(error)}`);
    return { code: ErrorCode.INTERNAL_ERROR, message: 'Internal server error' };
  }
}
