import { IoAdapter } from '@nestjs/platform-socket.io';
import type { Server, ServerOptions } from 'socket.io';

/**
 * Socket.IO adapter of the server. Upgrades outside `/socket.io` are left to the plain
 * WebSocket gateway (`destroyUpgrade: false`), and a connection's frames are bounded.
 */
export class TerminalIoAdapter extends IoAdapter {
  override createIOServer(port: number, options?: ServerOptions): Server {
    return super.createIOServer(port, {
      ...options,
      path: '/socket.io',
      destroyUpgrade: false,
      maxHttpBufferSize: 256 * 1024,
      pingInterval: 25_000,
      pingTimeout: 20_000,
    } as ServerOptions);
  }
}
