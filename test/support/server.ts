import { expect } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { LocalRuntime } from '@devpocket/runtime';
import { startServer, type RunningServer } from '../../apps/api/src/bootstrap.js';
import { loadConfig, type AppConfig } from '../../apps/api/src/config/app-config.js';
import { createTestDatabase, dropTestDatabase } from './database.js';

/** A server booted for one test file: real HTTP on a free loopback port, real PostgreSQL, real tmux. */
export interface TestServer {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** `http://127.0.0.1:<port>/api/v1` */
  api: string;
  dataDir: string;
  databaseUrl: string;
  server: RunningServer;
  /** Stops the server, kills every tmux server it started, drops its database and files. */
  close(): Promise<void>;
}

/** The configuration of a test server on `databaseUrl` and `dataDir`, quiet, on a free port. */
export function testConfig(databaseUrl: string, dataDir: string, env: Record<string, string> = {}): AppConfig {
  return loadConfig({
    DATABASE_URL: databaseUrl,
    DATA_DIR: dataDir,
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'error',
    TEMPLATES_DIR: resolve('templates'),
    JWT_SECRET: randomBytes(32).toString('hex'),
    // Suites sign in and create environments many times from one IP and user: generous limits,
    // unless a test sets its own (rate-limits, plans).
    RATE_LIMIT_PER_MINUTE: '100000',
    AUTH_RATE_LIMIT_PER_MINUTE: '100000',
    AUTH_IP_RATE_LIMIT_PER_MINUTE: '100000',
    FREE_MAX_ENVIRONMENTS: '50',
    FREE_MAX_CPU: '8',
    FREE_MAX_MEMORY: '32Gi',
    FREE_MAX_STORAGE: '200Gi',
    ...env,
  });
}

/**
 * Boots the whole application as `npm start` does (same bootstrap), on its own database and
 * data directory, or on those of an earlier server (`on`: a restart; give both the same
 * JWT_SECRET in `env` so that tokens stay valid). `env` adds or overrides configuration variables.
 */
export async function startTestServer(env: Record<string, string> = {}, on?: Pick<TestServer, 'dataDir' | 'databaseUrl'>): Promise<TestServer> {
  const dataDir = on?.dataDir ?? (await mkdtemp(join(tmpdir(), 'devpocket-e2e-')));
  const databaseUrl = on?.databaseUrl ?? (await createTestDatabase());
  const config = testConfig(databaseUrl, dataDir, env);
  const server = await startServer(config);
  return {
    url: server.url,
    api: `${server.url}/api/v1`,
    dataDir,
    databaseUrl,
    server,
    async close() {
      await server.stop();
      const runtime = new LocalRuntime({ dataDir, socketDir: config.TMUX_SOCKET_DIR });
      await runtime.killAllServers();
      await rm(runtime.socketDir, { recursive: true, force: true });
      await rm(dataDir, { recursive: true, force: true });
      await dropTestDatabase(databaseUrl);
    },
  };
}

/** The answer of a JSON request: status, headers and parsed body. */
export interface JsonResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

/** Sends a JSON request with fetch; `body` is serialized unless it is already a string. */
export async function request<T = any>(
  method: string,
  url: string,
  options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<JsonResponse<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body: string | undefined;
  if (options.body !== undefined) {
    headers['content-type'] ??= 'application/json';
    body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
  }
  const response = await fetch(url, { method, headers, body });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // Not JSON (an HTML page, an empty 204): the raw text is the body.
  }
  return { status: response.status, headers: response.headers, body: parsed as T };
}

/** `prefix` and 8 random hex digits: a username or email local part no other test uses. */
export function uniqueName(prefix: string): string {
  return `${prefix}${randomBytes(4).toString('hex')}`;
}

/** Asserts an error answer of API.md: `status`, and a body `{statusCode, code, message}`. */
export function expectErrorCode(response: JsonResponse, status: number, code: string): void {
  expect(response.status).toBe(status);
  expect(response.body).toMatchObject({ statusCode: status, code });
  expect(typeof response.body.message).toBe('string');
}

/** {@link expectErrorCode}, and the body carries nothing but the fields of API.md's error shape. */
export function expectError(response: JsonResponse, status: number, code: string): void {
  expectErrorCode(response, status, code);
  for (const key of Object.keys(response.body)) expect(['statusCode', 'code', 'message', 'details']).toContain(key);
}

/** Registers a fresh user with a unique email and username; returns its AuthResult. */
export async function registerUser(api: string, name = uniqueName('user'), password = 'correct horse battery'): Promise<{
  user: { id: string; email: string; username: string; role: string };
  accessToken: string;
  refreshToken: string;
  password: string;
}> {
  const response = await request('POST', `${api}/auth/register`, { body: { email: `${name}@example.com`, username: name, password } });
  if (response.status !== 201) throw new Error(`register failed: ${response.status} ${JSON.stringify(response.body)}`);
  return { ...response.body, password };
}

/** Polls GET /environments/:id until its status is `status` (or fails after `timeoutMs`). */
export async function waitForStatus(api: string, token: string, id: string, status: string, timeoutMs = 15_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  let last: JsonResponse | undefined;
  while (Date.now() < deadline) {
    last = await request('GET', `${api}/environments/${id}`, { token });
    if (last.status === 200 && last.body.status === status) return last.body;
    if (status === 'gone' && last.status === 404) return undefined;
    await sleep(50);
  }
  throw new Error(`environment ${id} did not reach ${status}: last ${last?.status} ${JSON.stringify(last?.body)}`);
}

/** Creates an environment from the named template and waits until it runs. */
export async function createRunningEnvironment(api: string, token: string, name: string, templateName = 'ubuntu'): Promise<any> {
  const templates = await request('GET', `${api}/templates?q=${templateName}`, { token });
  const template = templates.body.items.find((item: { name: string }) => item.name === templateName);
  const created = await request('POST', `${api}/environments`, { token, body: { name, templateId: template.id } });
  if (created.status !== 201) throw new Error(`create failed: ${created.status} ${JSON.stringify(created.body)}`);
  return waitForStatus(api, token, created.body.id, 'running');
}
