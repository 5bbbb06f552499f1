import { isAbsolute, resolve } from 'node:path';
import { plainToInstance, Transform } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsOptional, IsString, Matches, Max, Min, MinLength, validateSync } from 'class-validator';

const TRUE_WORDS = new Set(['1', 'true', 'yes', 'on']);
const FALSE_WORDS = new Set(['0', 'false', 'no', 'off']);
const toBoolean = ({ value }: { value: unknown }) => {
  if (typeof value !== 'string') return value;
  const word = value.trim().toLowerCase();
  return TRUE_WORDS.has(word) ? true : FALSE_WORDS.has(word) ? false : value;
};
const toInt = ({ value }: { value: unknown }) => (typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value);
const toList = ({ value }: { value: unknown }) =>
  typeof value === 'string' ? value.split(',').map((item) => item.trim().toLowerCase()).filter(Boolean) : value;

/**
 * The server's whole configuration, read once at boot from environment variables (the names
 * below, upper snake case) and validated; `.env.example` documents each one. Features get it by
 * injection (`constructor(private readonly config: AppConfig)`), never from `process.env`.
 */
export class AppConfig {
  /** `development`, `production` or `test`. */
  @IsIn(['development', 'production', 'test'])
  NODE_ENV: 'development' | 'production' | 'test' = 'development';

  /** Address the HTTP server binds to. */
  @IsString()
  HOST = '127.0.0.1';

  /** TCP port of the HTTP server; 0 picks a free one. */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(65535)
  PORT = 3000;

  /** Base URL clients reach the server at; defaults to `http://HOST:PORT`. */
  @IsOptional()
  @Matches(/^https?:\/\/[^\s/]+(\/.*)?$/, { message: 'must be an http(s) URL' })
  PUBLIC_URL?: string;

  /** Directory for the embedded database, environments' files and generated keys. */
  @IsString()
  @MinLength(1)
  DATA_DIR = './.data';

  /** PostgreSQL connection URL; unset starts an embedded PostgreSQL under DATA_DIR/postgres. */
  @IsOptional()
  @Matches(/^postgres(ql)?:\/\/\S+$/, { message: 'must be a postgres:// URL' })
  DATABASE_URL?: string;

  /** Secret that signs access tokens (HS256), at least 32 characters; unset: generated once into DATA_DIR. */
  @IsOptional()
  @IsString()
  @MinLength(32)
  JWT_SECRET?: string;

  /** AES-256-GCM key for kubeconfigs at rest: 32 bytes as base64 or 64 hex digits; unset: generated once into DATA_DIR. */
  @IsOptional()
  @Matches(/^(?:[0-9a-fA-F]{64}|[A-Za-z0-9+/_-]{43}=?)$/, { message: 'must be 32 bytes as 64 hex digits or base64' })
  ENCRYPTION_KEY?: string;

  /** Storage class of environments' volumes on clusters; unset: the cluster's default. */
  @IsOptional()
  @Matches(/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/, { message: 'must be a storage class name' })
  KUBERNETES_STORAGE_CLASS?: string;

  /** Lifetime of an access token, in seconds. */
  @Transform(toInt)
  @IsInt()
  @Min(30)
  @Max(86400)
  JWT_ACCESS_TTL = 900;

  /** Lifetime of a refresh token, in seconds (default 30 days). */
  @Transform(toInt)
  @IsInt()
  @Min(60)
  REFRESH_TOKEN_TTL = 2592000;

  /** Comma-separated emails that are made admins at registration or sign-in. */
  @Transform(toList)
  @IsString({ each: true })
  ADMIN_EMAILS: string[] = [];

  /** Folder of environment templates as YAML, upserted into the database at start. */
  @IsString()
  TEMPLATES_DIR = './templates';

  /** Largest accepted request body, in bytes. */
  @Transform(toInt)
  @IsInt()
  @Min(1024)
  BODY_LIMIT = 102400;

  /** Directory for the local runtime's tmux sockets; keep it short (Unix socket paths are limited to ~104 bytes). */
  @IsOptional()
  @IsString()
  TMUX_SOCKET_DIR?: string;

  /** Lets the local runtime, which gives shells on this host, serve on a non-loopback HOST. */
  @Transform(toBoolean)
  @IsBoolean()
  LOCAL_RUNTIME_ALLOW_REMOTE = false;

  /** Nest log levels to print, comma-separated: error, warn, log, debug, verbose. */
  @Transform(toList)
  @IsIn(['error', 'warn', 'log', 'debug', 'verbose', 'fatal'], { each: true })
  LOG_LEVEL: Array<'error' | 'warn' | 'log' | 'debug' | 'verbose' | 'fatal'> = ['error', 'warn', 'log'];

  /** The absolute data directory. */
  get dataDir(): string {
    return isAbsolute(this.DATA_DIR) ? this.DATA_DIR : resolve(this.DATA_DIR);
  }

  /** The absolute templates directory. */
  get templatesDir(): string {
    return isAbsolute(this.TEMPLATES_DIR) ? this.TEMPLATES_DIR : resolve(this.TEMPLATES_DIR);
  }

  /** The URL clients reach this server at, without a trailing slash. */
  get publicUrl(): string {
    return (this.PUBLIC_URL ?? `http://${this.HOST.includes(':') ? `[${this.HOST}]` : this.HOST}:${this.PORT}`).replace(/\/+$/, '');
  }
}

/** A configuration value that failed validation; its message names every bad variable. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * Builds the validated {@link AppConfig} from an environment (default `process.env`). Empty
 * strings count as unset. Only the variables AppConfig declares are read.
 *
 * @throws ConfigError naming each bad variable and why, e.g. `PORT must not be greater than 65535`
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const known = Object.keys(new AppConfig());
  const declared = new Set([...known, 'PUBLIC_URL', 'DATABASE_URL', 'JWT_SECRET', 'ENCRYPTION_KEY', 'KUBERNETES_STORAGE_CLASS', 'TMUX_SOCKET_DIR']);
  const raw: Record<string, string> = {};
  for (const name of declared) {
    const value = env[name];
    if (value !== undefined && value !== '') raw[name] = value;
  }
  const config = plainToInstance(AppConfig, raw, { exposeDefaultValues: true });
  const errors = validateSync(config, { forbidUnknownValues: true });
  if (errors.length > 0) {
    const lines = errors.flatMap((error) => Object.values(error.constraints ?? {}).map((text) => `- ${error.property}: ${text}`));
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  return config;
}
