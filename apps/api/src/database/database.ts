import { join } from 'node:path';
import type { Logger } from '@nestjs/common';
import pg from 'pg';
import type { AppConfig } from '../config/app-config.js';
import { startEmbeddedPostgres } from './embedded-postgres.js';

/** The database the server uses, and how to release it at shutdown. */
export interface DatabaseHandle {
  url: string;
  embedded: boolean;
  /** Stops the embedded PostgreSQL, if one was started; a no-op otherwise. */
  close(): Promise<void>;
}

const EMBEDDED_DATABASE = 'devpocket';

/**
 * DATABASE_URL when set; otherwise starts the embedded PostgreSQL under `DATA_DIR/postgres`
 * and makes sure its `devpocket` database exists.
 */
export async function openDatabase(config: AppConfig, logger: Logger): Promise<DatabaseHandle> {
  if (config.DATABASE_URL) return { url: config.DATABASE_URL, embedded: false, close: async () => undefined };
  const dataDir = join(config.dataDir, 'postgres');
  logger.log(`DATABASE_URL is not set: starting the embedded PostgreSQL in ${dataDir}`);
  const server = await startEmbeddedPostgres({ dataDir, log: (line) => logger.debug?.(line) });
  try {
    const client = new pg.Client({ connectionString: server.url });
    await client.connect();
    try {
      const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [EMBEDDED_DATABASE]);
      if (!rowCount) await client.query(`CREATE DATABASE ${EMBEDDED_DATABASE}`);
    } finally {
      await client.end();
    }
  } catch (error) {
    await server.stop();
    throw error;
  }
  const url = new URL(server.url);
  url.pathname = `/${EMBEDDED_DATABASE}`;
  return { url: url.toString(), embedded: true, close: () => server.stop() };
}
