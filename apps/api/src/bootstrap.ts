import { isIP } from 'node:net';
import { mkdir } from 'node:fs/promises';
import { Logger, NotFoundException, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { NextFunction, Request, Response } from 'express';
import helmet from 'helmet';
import { AppModule } from './app.module.js';
import { requestContextMiddleware } from './audit/request-context.js';
import { ErrorDto, HttpExceptionFilter, sendError } from './common/http-exception.filter.js';
import { createValidationPipe } from './common/validation.js';
import { SERVER_VERSION } from './common/version.js';
import { ConfigError, type AppConfig } from './config/app-config.js';
import { resolveSecrets } from './config/secrets.js';
import { openDatabase } from './database/database.js';
import { TerminalIoAdapter } from './terminal/terminal-io.adapter.js';

/** A server that listens, and how to stop it. */
export interface RunningServer {
  app: INestApplication;
  /** `http://host:port` it listens on. */
  url: string;
  port: number;
  /** Stops accepting, closes sockets and the database, then the embedded PostgreSQL if any. */
  stop(): Promise<void>;
}

function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}

/** Applies the HTTP conventions of API.md to an application: prefix, parsing, validation, errors, docs. */
export function configureApp(app: NestExpressApplication, config: AppConfig): void {
  const logger = new Logger('Http');
  app.disable('x-powered-by');
  app.use(
    helmet({
      contentSecurityPolicy: {
        directives: {
          // Swagger UI (/api/docs) and the server's own small pages use inline scripts and styles.
          'script-src': ["'self'", "'unsafe-inline'"],
          'style-src': ["'self'", "'unsafe-inline'"],
          'img-src': ["'self'", 'data:', 'https:'],
          // On plain http (one machine, a LAN) upgrading would break every page's assets.
          'upgrade-insecure-requests': config.publicUrl.startsWith('https:') ? [] : null,
        },
      },
    }),
  );
  if (config.CORS_ORIGINS.length > 0) {
    const allowed = new Set(config.CORS_ORIGINS);
    app.enableCors({
      origin: (origin, callback) => callback(null, origin !== undefined && allowed.has(origin.toLowerCase())),
      exposedHeaders: ['Retry-After', 'X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset'],
      maxAge: 600,
    });
  }
  app.useBodyParser('json', { limit: config.BODY_LIMIT });
  app.useBodyParser('urlencoded', { limit: config.BODY_LIMIT, extended: false });
  // Errors of the body parsers happen before Nest's routing: answered here in the API's shape.
  app.use((error: unknown, request: Request, response: Response, next: NextFunction) => {
    if (!error) return next();
    sendError(response, error, logger, request);
  });
  app.use(requestContextMiddleware);
  app.setGlobalPrefix('api/v1', { exclude: ['device', '.well-known/{*path}', 'metrics'] });
  app.useGlobalPipes(createValidationPipe());
  app.useGlobalFilters(new HttpExceptionFilter());
  app.useWebSocketAdapter(new TerminalIoAdapter(app, { corsOrigins: config.CORS_ORIGINS, heartbeatSeconds: config.TERMINAL_HEARTBEAT_SECONDS }));
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('DevPocket API')
      .setDescription('Control plane of DevPocket, the mobile-first cloud IDE. The terminal is on Socket.IO (`/terminal`) and plain WebSocket (`/api/v1/ws/terminal/{id}`).')
      .setVersion(SERVER_VERSION)
      .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' })
      .build(),
    { extraModels: [ErrorDto] },
  );
  // Every error answer has the one body of API.md: give each documented 4xx/5xx its schema.
  for (const operations of Object.values(document.paths)) {
    for (const operation of Object.values(operations) as Array<{ responses?: Record<string, { content?: unknown }> }>) {
      for (const [status, response] of Object.entries(operation.responses ?? {})) {
        if (Number(status) >= 400 && !response.content) {
          response.content = { 'application/json': { schema: { $ref: '#/components/schemas/ErrorDto' } } };
        }
      }
    }
  }
  SwaggerModule.setup('api/docs', app, document, { jsonDocumentUrl: 'api/docs-json', useGlobalPrefix: false });
}

/**
 * Starts the whole server from a validated configuration: data directory, database (embedded
 * PostgreSQL when DATABASE_URL is unset), migrations, then HTTP, Socket.IO and WebSocket on
 * HOST:PORT.
 * @throws ConfigError when the local runtime would serve shells on a non-loopback address without LOCAL_RUNTIME_ALLOW_REMOTE
 *   (or LOCAL_RUNTIME_ENABLED=false, as in a cluster where environments run on Kubernetes only)
 */
export async function startServer(config: AppConfig): Promise<RunningServer> {
  Logger.overrideLogger(config.LOG_LEVEL);
  const logger = new Logger('Bootstrap');
  if (config.LOCAL_RUNTIME_ENABLED && !isLoopback(config.HOST) && !config.LOCAL_RUNTIME_ALLOW_REMOTE) {
    throw new ConfigError(
      `HOST ${config.HOST} is not a loopback address: the local runtime gives shells on this host, so set LOCAL_RUNTIME_ALLOW_REMOTE=true to serve it there, or LOCAL_RUNTIME_ENABLED=false to run environments on clusters only`,
    );
  }
  await mkdir(config.dataDir, { recursive: true });
  const database = await openDatabase(config, logger);
  let app: NestExpressApplication | undefined;
  try {
    const secrets = await resolveSecrets(config, logger);
    app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot({ config, secrets, databaseUrl: database.url }), {
      bodyParser: false,
      logger: config.LOG_LEVEL,
      abortOnError: false,
    });
    configureApp(app, config);
    await app.init();
    // Nest answers unknown routes under the global prefix and its exclusions; every other path
    // gets the same 404 error body here, after all routes.
    const httpLogger = new Logger('Http');
    app.use((request: Request, response: Response) => {
      sendError(response, new NotFoundException(`Cannot ${request.method} ${request.path}`), httpLogger, request);
    });
    await app.listen(config.PORT, config.HOST);
  } catch (error) {
    await app?.close().catch(() => undefined);
    await database.close();
    throw error;
  }
  const address = app.getHttpServer().address() as { port: number };
  // PORT=0 asks the kernel for a port: from here on the configuration names the real one, so
  // PUBLIC_URL's default (OAuth metadata, links in emails) is an address clients can reach.
  config.PORT = address.port;
  const host = config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST;
  const url = `http://${host}:${address.port}`;
  const running = app;
  let stopping: Promise<void> | undefined;
  return {
    app: running,
    url,
    port: address.port,
    stop: () =>
      (stopping ??= (async () => {
        try {
          await running.close();
        } finally {
          await database.close();
        }
      })()),
  };
}
