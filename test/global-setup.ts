import { mkdtemp, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedPostgres } from '../apps/api/src/database/embedded-postgres.js';

/**
 * Gives every test file a real PostgreSQL: the server named by DATABASE_URL when it is set,
 * otherwise one embedded PostgreSQL for the whole run (stopped in global-teardown).
 * Test files create their own database on it through `createTestDatabase()`.
 */
export default async function globalSetup(): Promise<void> {
  if (process.env.DATABASE_URL) {
    process.env.DEVPOCKET_TEST_ADMIN_URL = process.env.DATABASE_URL;
    return;
  }
  const dir = await mkdtemp(join(tmpdir(), 'devpocket-test-pg-'));
  await chmod(dir, 0o755); // the embedded server may run as the `postgres` user
  const embedded = await startEmbeddedPostgres({ dataDir: join(dir, 'data'), log: () => undefined });
  (globalThis as { __embeddedPostgres?: unknown }).__embeddedPostgres = { embedded, dir };
  process.env.DEVPOCKET_TEST_ADMIN_URL = embedded.url;
}
