import { chmod, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// Global setup runs outside Jest's module system: it uses the build (`npm test` builds first).
import { startEmbeddedPostgres } from '../dist/apps/api/src/database/embedded-postgres.js';

/**
 * Gives every test file a real PostgreSQL: the server named by DATABASE_URL when it is set,
 * otherwise one embedded PostgreSQL for the whole run (stopped in global-teardown). Test files
 * create their own database on it through `createTestDatabase()`.
 */
export default async function globalSetup() {
  if (process.env.DATABASE_URL) {
    process.env.DEVPOCKET_TEST_ADMIN_URL = process.env.DATABASE_URL;
    return;
  }
  const dir = await mkdtemp(join(tmpdir(), 'devpocket-test-pg-'));
  await chmod(dir, 0o755); // run as root, the embedded server runs as the `postgres` user
  const embedded = await startEmbeddedPostgres({ dataDir: join(dir, 'data') });
  globalThis.__devpocketEmbeddedPostgres = { embedded, dir };
  process.env.DEVPOCKET_TEST_ADMIN_URL = embedded.url;
}
