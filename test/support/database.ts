import { randomBytes } from 'node:crypto';
import pg from 'pg';

/**
 * Creates an empty database for one test file on the run's PostgreSQL (see global-setup) and
 * returns its connection URL. Databases are named `devpocket_test_<hex>`; they are dropped by
 * {@link dropTestDatabase}.
 */
export async function createTestDatabase(): Promise<string> {
  const adminUrl = process.env.DEVPOCKET_TEST_ADMIN_URL;
  if (!adminUrl) throw new Error('DEVPOCKET_TEST_ADMIN_URL is not set: run the tests through jest (global-setup)');
  const name = `devpocket_test_${randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Drops a database made by {@link createTestDatabase}, closing what still connects to it. */
export async function dropTestDatabase(databaseUrl: string): Promise<void> {
  const adminUrl = process.env.DEVPOCKET_TEST_ADMIN_URL!;
  const name = new URL(databaseUrl).pathname.slice(1);
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } finally {
    await client.end();
  }
}
