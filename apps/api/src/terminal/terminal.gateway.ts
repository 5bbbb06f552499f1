import { Logger } from '@nestjs/common';
import {
  ConnectedSocket,
  MessageBody,
  SubscribeMessage,
  WebSocketGateway,
  type OnGatewayDisconnect,
  type OnGatewayInit,
} from '@nestjs/websockets';
import type { Namespace, Socket } from 'socket.io';
import { assertKeyScopes } from '../api-keys/api-key-scopes.js';
import { AuthService } from '../auth/auth.service.js';
import { SharesService } from '../shares/shares.service.js';
import { DomainException, ErrorCode } from '../common/domain.exception.js';
import { AttachMessage, parseAck, parseInput, parseMessage, ResizeMessage } from './dto/terminal-messages.dto.js';
import { TerminalService, type AttachResult, type ExitReason, type TerminalCaller, type TerminalSession, type TerminalSink } from './terminal.service.js';

/** Events the server emits on `/terminal` (API.md "Terminal over Socket.IO"). */
export interface TerminalServerEvents {
  output: (payload: { data: string; seq: number }) => void;
  status: (payload: { status: string }) => void;
  exit: (payload: { reason: ExitReason }) => void;
  error: (payload: { code: string; message: string }) => void;
  pong: (payload: { at: string }) => void;
}

/** Per-socket state: who is connected, and the one terminal session it carries. */
interface TerminalSocketData {
  caller: TerminalCaller;
  session?: TerminalSession;
  /** This socket's sink on the session: a session taken over by another socket has another sink. */
  sink?: TerminalSink;
}

type TerminalSocket = Socket<Record<string, never>, TerminalServerEvents, Record<string, never>, TerminalSocketData>;
type ErrorAck = { error: { code: string; message: string } };

function errorPayload(error: unknown, logger: Logger): { code: string; message: string } {
  if (error instanceof DomainException) return { code: error.code, message: error.message };
  logger.error(`terminal request failed: ${(error as Error)?.stack ?? String(error)}`);
  return { code: ErrorCode.INTERNAL_ERROR, message: 'Internal server error' };
}

/**
 * The terminal over Socket.IO v4, namespace `/terminal`. The access token or API key comes in
 * the handshake (`auth: { token }`), or a guest's share token (`auth: { shareToken }`); a bad
 * one is refused at connect with `UNAUTHORIZED`, and attaching with a key without the
 * `terminal` scope is refused with `FORBIDDEN`. One
 * socket carries one attached terminal; closing it keeps the session for a resume during the
 * grace period (API.md), then detaches the tmux client only.
 */
@WebSocketGateway({ namespace: '/terminal' })
export class TerminalGateway implements OnGatewayInit<Namespace>, OnGatewayDisconnect<TerminalSocket> {
  private readonly logger = new Logger(TerminalGateway.name);

  constructor(
    private readonly auth: AuthService,
    private readonly terminals: TerminalService,
    private readonly shares: SharesService,
  ) {}

  afterInit(namespace: Namespace): void {
    namespace.use((socket, next) => {
      const { token, shareToken } = (socket.handshake.auth ?? {}) as { token?: unknown; shareToken?: unknown };
      const caller: Promise<TerminalCaller> | undefined =
        typeof token === 'string' && token.length > 0
          ? this.auth.authenticate(token).then((user) => ({ user }))
          : typeof shareToken === 'string' && shareToken.length > 0
            ? this.shares.authenticate(shareToken).then((grant) => ({ grant }))
            : undefined;
      if (!caller) return next(new Error(ErrorCode.UNAUTHORIZED));
      caller.then(
        (authenticated) => {
          (socket.data as TerminalSocketData).caller = authenticated;
          next();
        },
        () => next(new Error(ErrorCode.UNAUTHORIZED)),
      );
    });
  }

  @SubscribeMessage('attach')
  async attach(@ConnectedSocket() socket: TerminalSocket, @MessageBody() body: unknown): Promise<AttachResult | ErrorAck> {
    try {
      const { caller } = socket.data;
      if (caller.user) assertKeyScopes(caller.user, ['terminal']);
      if (socket.data.session) throw new DomainException(ErrorCode.VALIDATION_FAILED, 'This socket already carries a terminal; open another socket');
      const request = parseMessage(AttachMessage, body);
      const sink: TerminalSink = {
        output: (data, seq) => socket.emit('output', { data, seq }),
        status: (status) => socket.emit('status', { status }),
        exit: (reason) => {
          socket.data.session = undefined;
          socket.data.sink = undefined;
          socket.emit('exit', { reason });
          socket.disconnect(true);
        },
      };
      const userAgent = socket.handshake.headers['user-agent'];
      const { session, result } = await this.terminals.attach(caller, request, 'socket.io', sink, {
        client: typeof userAgent === 'string' ? userAgent : undefined,
        ip: socket.handshake.address,
      });
      if (!socket.connected) {
        session.release(sink);
        throw new DomainException(ErrorCode.VALIDATION_FAILED, 'The socket closed while attaching');
      }
      socket.data.sink = sink;
      socket.data.session = session;
      return result;
    } catch (error) {
      return { error: errorPayload(error, this.logger) };
    }
  }

  @SubscribeMessage('input')
  input(@ConnectedSocket() socket: TerminalSocket, @MessageBody() body: unknown): void {
    this.handle(socket, () => {
      const message = parseInput(body);
      this.session(socket).input(message.data, message.seq);
    });
  }

  @SubscribeMessage('resize')
  resize(@ConnectedSocket() socket: TerminalSocket, @MessageBody() body: unknown): void {
    this.handle(socket, () => {
      const message = parseMessage(ResizeMessage, body);
      this.session(socket).resize(message.cols, message.rows);
    });
  }

  @SubscribeMessage('ack')
  ack(@ConnectedSocket() socket: TerminalSocket, @MessageBody() body: unknown): void {
    this.handle(socket, () => {
      const message = parseAck(body);
      this.session(socket).ack(message.seq);
    });
  }

  @SubscribeMessage('ping')
  ping(@ConnectedSocket() socket: TerminalSocket): void {
    socket.emit('pong', { at: new Date().toISOString() });
  }

  handleDisconnect(socket: TerminalSocket): void {
    const { session, sink } = socket.data;
    socket.data.session = undefined;
    socket.data.sink = undefined;
    // The session stays for a resume during the grace period (unless another socket took it over).
    if (session && sink) session.release(sink);
  }

  private session(socket: TerminalSocket): TerminalSession {
    const session = socket.data.session;
    if (!session) throw new DomainException(ErrorCode.VALIDATION_FAILED, 'Attach to an environment first');
    return session;
  }

  private handle(socket: TerminalSocket, work: () => void): void {
    try {
      work();
    } catch (error) {
      socket.emit('error', errorPayload(error, this.logger));
    }
  }
}
