import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { startServer } from './bootstrap.js';
import { ConfigError, loadConfig } from './config/app-config.js';

/** Entry point of `npm start`: validated configuration, then the server; SIGTERM/SIGINT stop it cleanly. */
async function main(): Promise<void> {
  const logger = new Logger('DevPocket');
  const config = loadConfig();
  const server = await startServer(config);
  logger.log(`DevPocket server listening on ${server.url}`);
  logger.log(`OpenAPI console: ${server.url}/api/docs (document at ${server.url}/api/docs-json)`);
  let signals = 0;
  const shutdown = (signal: NodeJS.Signals) => {
    signals += 1;
    if (signals > 1) {
      logger.warn(`${signal} again: exiting at once`);
      process.exit(1);
    }
    logger.log(`${signal} received: shutting down`);
    server.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error(`shutdown failed: ${(error as Error)?.stack ?? String(error)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
  } else {
    process.stderr.write(`DevPocket could not start: ${(error as Error)?.stack ?? String(error)}\n`);
  }
  process.exit(1);
});
