import type { INestApplicationContext } from '@nestjs/common';
import { IoAdapter } from '@nestjs/platform-socket.io';
import type { Server, ServerOptions } from 'socket.io';

/** What the server's Socket.IO adapter is configured with. */
export interface TerminalIoOptions {
  /** Browser origins (CORS_ORIGINS) that may use the HTTP long-polling transport across origins. */
  corsOrigins: string[];
  /** Engine.IO heartbeat (TERMINAL_HEARTBEAT_SECONDS), in seconds: a ping this often, dropped when no pong came within as long again. */
  heartbeatSeconds: number;
}

/**
 * Socket.IO adapter of the server. Upgrades outside `/socket.io` are left to the plain
 * WebSocket gateway (`destroyUpgrade: false`), a connection's frames are bounded, and the
 * Engine.IO heartbeat drops a dead socket (a phone that left coverage without closing its TCP
 * connection) within two heartbeats, which starts its session's resume grace period.
 */
export class TerminalIoAdapter extends IoAdapter {
  constructor(
    app: INestApplicationContext,
    private readonly options: TerminalIoOptions,
  ) {
    super(app);
  }

  override createIOServer(port: number, options?: ServerOptions): Server {
    const heartbeatMs = this.options.heartbeatSeconds * 1000;
    return super.createIOServer(port, {
      ...options,
      ...(this.options.corsOrigins.length > 0 ? { cors: { origin: this.options.corsOrigins } } : {}),
      path: '/socket.io',
      destroyUpgrade: false,
      maxHttpBufferSize: 256 * 1024,
      pingInterval: heartbeatMs,
      pingTimeout: heartbeatMs,
    } as ServerOptions);
  }
}
