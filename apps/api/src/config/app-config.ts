import { isAbsolute, resolve } from 'node:path';
import { plainToInstance, Transform } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsOptional, IsString, Matches, Max, Min, MinLength, validateSync } from 'class-validator';
import { IsQuantity } from '../common/validation.js';

const TRUE_WORDS = new Set(['1', 'true', 'yes', 'on']);
const FALSE_WORDS = new Set(['0', 'false', 'no', 'off']);
const toBoolean = ({ value }: { value: unknown }) => {
  if (typeof value !== 'string') return value;
  const word = value.trim().toLowerCase();
  return TRUE_WORDS.has(word) ? true : FALSE_WORDS.has(word) ? false : value;
};
const toInt = ({ value }: { value: unknown }) => (typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value);
/** Comma-separated origins, lower-cased, without a trailing slash (browsers send `Origin` that way). */
const toOrigins = ({ value }: { value: unknown }) =>
  typeof value === 'string' ? value.split(',').map((item) => item.trim().toLowerCase().replace(/\/+$/, '')).filter(Boolean) : value;
const toList = ({ value }: { value: unknown }) =>
  typeof value === 'string' ? value.split(',').map((item) => item.trim().toLowerCase()).filter(Boolean) : value;
const toCaseSensitiveList = ({ value }: { value: unknown }) =>
  typeof value === 'string' ? value.split(',').map((item) => item.trim()).filter(Boolean) : value;

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

  /** Lifetime of a device code and its user code (RFC 8628 device authorization), in seconds (default 15 minutes). */
  @Transform(toInt)
  @IsInt()
  @Min(10)
  @Max(3600)
  DEVICE_CODE_TTL = 900;

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

  /** How long a Socket.IO terminal session outlives its socket waiting for a resume, in seconds; 0 ends it with the socket. */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(86400)
  TERMINAL_RESUME_SECONDS = 600;

  /** Output a terminal session keeps for an exact resume (replay), in bytes. */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(64 * 1024 * 1024)
  TERMINAL_REPLAY_BYTES = 1024 * 1024;

  /** Unacknowledged output above which a terminal's PTY is paused, in bytes; reading resumes under a quarter of it. */
  @Transform(toInt)
  @IsInt()
  @Min(65536)
  @Max(64 * 1024 * 1024)
  TERMINAL_HIGH_WATER_BYTES = 1024 * 1024;

  /** Terminal connections (attached sockets, both transports) one user may hold at once; the next attach is refused with TOO_MANY_CONNECTIONS. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(10000)
  TERMINAL_MAX_CONNECTIONS_PER_USER = 10;

  /**
   * Detached terminal sessions one user (or one share link) may have kept for a resume at once;
   * past it the one detached longest ago is ended (its next resume gets a redraw).
   */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(10000)
  TERMINAL_MAX_KEPT_SESSIONS_PER_USER = 10;

  /**
   * Heartbeat of terminal and log sockets, in seconds: the server pings every socket this
   * often and drops one that has not answered by the next ping (Socket.IO pingInterval and
   * pingTimeout, WebSocket ping/pong of RFC 6455 §5.5.2).
   */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(600)
  TERMINAL_HEARTBEAT_SECONDS = 30;

  /** Lets the local runtime, which gives shells on this host, serve on a non-loopback HOST. */
  @Transform(toBoolean)
  @IsBoolean()
  LOCAL_RUNTIME_ALLOW_REMOTE = false;

  /** Runs environments on this host (tmux) when no cluster is registered; false: such creations answer 422 NO_RUNTIME. */
  @Transform(toBoolean)
  @IsBoolean()
  LOCAL_RUNTIME_ENABLED = true;

  /** Nest log levels to print, comma-separated: error, warn, log, debug, verbose. */
  @Transform(toList)
  @IsIn(['error', 'warn', 'log', 'debug', 'verbose', 'fatal'], { each: true })
  LOG_LEVEL: Array<'error' | 'warn' | 'log' | 'debug' | 'verbose' | 'fatal'> = ['error', 'warn', 'log'];

  /** OAuth client id of Google sign-in: the audience of ID tokens and the web flow's client. Unset: Google sign-in is off (404). */
  @IsOptional()
  @IsString()
  @MinLength(1)
  GOOGLE_CLIENT_ID?: string;

  /** OAuth client secret of the web redirect flow; with GOOGLE_CLIENT_ID it turns on GET /auth/google. */
  @IsOptional()
  @IsString()
  @MinLength(1)
  GOOGLE_CLIENT_SECRET?: string;

  /** JWK Set that signs Google ID tokens. */
  @Matches(/^https?:\/\/\S+$/, { message: 'must be an http(s) URL' })
  GOOGLE_JWKS_URL = 'https://www.googleapis.com/oauth2/v3/certs';

  /** Accepted `iss` values of Google ID tokens, comma-separated (case-sensitive). */
  @Transform(toCaseSensitiveList)
  @IsString({ each: true })
  GOOGLE_ISSUERS: string[] = ['https://accounts.google.com', 'accounts.google.com'];

  /** Authorization endpoint of the web redirect flow. */
  @Matches(/^https?:\/\/\S+$/, { message: 'must be an http(s) URL' })
  GOOGLE_AUTHORIZATION_URL = 'https://accounts.google.com/o/oauth2/v2/auth';

  /** Token endpoint of the web redirect flow. */
  @Matches(/^https?:\/\/\S+$/, { message: 'must be an http(s) URL' })
  GOOGLE_TOKEN_URL = 'https://oauth2.googleapis.com/token';

  /** OpenID Connect userinfo endpoint of the web redirect flow. */
  @Matches(/^https?:\/\/\S+$/, { message: 'must be an http(s) URL' })
  GOOGLE_USERINFO_URL = 'https://openidconnect.googleapis.com/v1/userinfo';

  /** SMTP server of outgoing mail, e.g. `smtps://user:pass@smtp.example.com`. Unset: mail is logged in development, dropped with a warning otherwise. */
  @IsOptional()
  @Matches(/^smtps?:\/\/\S+$/, { message: 'must be an smtp:// or smtps:// URL' })
  SMTP_URL?: string;

  /** Sender of outgoing mail (RFC 5322 address, optionally with a display name). */
  @IsString()
  @MinLength(3)
  MAIL_FROM = 'DevPocket <no-reply@devpocket.local>';

  /** Lifetime of an email verification link, in seconds (default 24 hours). */
  @Transform(toInt)
  @IsInt()
  @Min(60)
  EMAIL_TOKEN_TTL = 86400;

  /** Lifetime of a password reset link, in seconds (default 1 hour). */
  @Transform(toInt)
  @IsInt()
  @Min(60)
  PASSWORD_RESET_TOKEN_TTL = 3600;

  /** Redis URL (redis:// or rediss://) shared by the replicas for rate limits; unset: in-process storage. */
  @IsOptional()
  @Matches(/^rediss?:\/\/\S+$/, { message: 'must be a redis:// or rediss:// URL' })
  REDIS_URL?: string;

  /** Prefix of every Redis key this server writes, so installs can share one Redis. */
  @Matches(/^[A-Za-z0-9:_.-]{0,64}$/, { message: 'must be at most 64 letters, digits, ":", "_", "." or "-"' })
  REDIS_KEY_PREFIX = 'devpocket:';

  /** Requests a minute per client IP over the whole API (health checks and Socket.IO excluded). */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  RATE_LIMIT_PER_MINUTE = 600;

  /** Sign-ins and registrations a minute per client IP and account (the submitted email or username). */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  AUTH_RATE_LIMIT_PER_MINUTE = 10;

  /** Sign-ins and registrations a minute per client IP, whatever the account. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  AUTH_IP_RATE_LIMIT_PER_MINUTE = 30;

  /** Comma-separated origins (`https://app.example.com`) allowed by CORS, HTTP and Socket.IO; empty: no CORS headers. */
  @Transform(toOrigins)
  @Matches(/^https?:\/\/[^\s/]+$/, { each: true, message: 'each origin must be scheme://host[:port], e.g. https://app.example.com' })
  CORS_ORIGINS: string[] = [];

  /** Environments a user of each plan may have (API.md "422 plan limit"). */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  FREE_MAX_ENVIRONMENTS = 1;

  @Transform(toInt)
  @IsInt()
  @Min(0)
  STARTER_MAX_ENVIRONMENTS = 3;

  @Transform(toInt)
  @IsInt()
  @Min(0)
  PRO_MAX_ENVIRONMENTS = 10;

  @Transform(toInt)
  @IsInt()
  @Min(0)
  ENTERPRISE_MAX_ENVIRONMENTS = 100;

  /** Largest resources of one environment per plan, as Kubernetes quantities (CPU cores, memory and storage bytes). */
  @IsQuantity()
  FREE_MAX_CPU = '500m';

  @IsQuantity()
  FREE_MAX_MEMORY = '1Gi';

  @IsQuantity()
  FREE_MAX_STORAGE = '5Gi';

  @IsQuantity()
  STARTER_MAX_CPU = '1';

  @IsQuantity()
  STARTER_MAX_MEMORY = '2Gi';

  @IsQuantity()
  STARTER_MAX_STORAGE = '10Gi';

  @IsQuantity()
  PRO_MAX_CPU = '2';

  @IsQuantity()
  PRO_MAX_MEMORY = '4Gi';

  @IsQuantity()
  PRO_MAX_STORAGE = '20Gi';

  @IsQuantity()
  ENTERPRISE_MAX_CPU = '8';

  @IsQuantity()
  ENTERPRISE_MAX_MEMORY = '32Gi';

  @IsQuantity()
  ENTERPRISE_MAX_STORAGE = '200Gi';

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
  const declared = new Set([...known, 'PUBLIC_URL', 'DATABASE_URL', 'JWT_SECRET', 'ENCRYPTION_KEY', 'KUBERNETES_STORAGE_CLASS', 'TMUX_SOCKET_DIR', 'REDIS_URL', 'GOOGLE_CLIENT_ID', 'GOOGLE_CLIENT_SECRET', 'SMTP_URL']);
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
