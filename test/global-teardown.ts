import { rm } from 'node:fs/promises';
import type { EmbeddedPostgresServer } from '../apps/api/src/database/embedded-postgres.js';

/** Stops the embedded PostgreSQL that global-setup started, and removes its files. */
export default async function globalTeardown(): Promise<void> {
  const state = (globalThis as { __embeddedPostgres?: { embedded: EmbeddedPostgresServer; dir: string } }).__embeddedPostgres;
  if (!state) return;
  await state.embedded.stop();
  await rm(state.dir, { recursive: true, force: true });
}
