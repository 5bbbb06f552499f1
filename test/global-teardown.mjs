import { rm } from 'node:fs/promises';

/** Stops the embedded PostgreSQL that global-setup started, and removes its files. */
export default async function globalTeardown() {
  const state = globalThis.__devpocketEmbeddedPostgres;
  if (!state) return;
  await state.embedded.stop();
  await rm(state.dir, { recursive: true, force: true });
}
