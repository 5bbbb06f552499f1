import type { INestApplicationContext } from '@nestjs/common';
import { IoAdapter } from '@nestjs/platform-socket.io';
import type { Server, ServerOptions } from 'socket.io';

/**
 * Socket.IO adapter of the server. Upgrades outside `/socket.io` are left to the plain
 * WebSocket gateway (`destroyUpgrade: false`), and a connection's frames are bounded. Browsers
 * on `corsOrigins` (CORS_ORIGINS) may use the HTTP long-polling transport across origins.
 */
export class TerminalIoAdapter extends IoAdapter {
  constructor(
    app: INestApplicationContext,
    private readonly corsOrigins: string[] = [],
  ) {
    super(app);
  }

  override createIOServer(port: number, options?: ServerOptions): Server {
    return super.createIOServer(port, {
      ...options,
      ...(this.corsOrigins.length > 0 ? { cors: { origin: this.corsOrigins } } : {}),
      path: '/socket.io',
      destroyUpgrade: false,
      maxHttpBufferSize: 256 * 1024,
      pingInterval: 25_000,
      pingTimeout: 20_000,
    } as ServerOptions);
  }
}
