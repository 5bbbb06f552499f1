import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { LocalRuntime } from '@devpocket/runtime';
import { registerUser, request, waitForStatus } from '../support/server.js';
import { SocketTerminal, closeAll } from '../support/terminal-clients.js';

const execFileAsync = promisify(execFile);

/** The build `npm start` runs; the suite is run after `npm run build`. */
const MAIN = resolve('dist/apps/api/src/main.js');
const BOOT_MS = 30_000;
const STOP_MS = 10_000;

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolvePort(port));
    });
  });
}

/** The built server (`node dist/apps/api/src/main.js`) as a child process, with what it printed. */
class ServerProcess {
  output = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private exit?: { code: number | null; signal: NodeJS.Signals | null };

  constructor(readonly child: ChildProcess) {
    child.stdout?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    this.exited = new Promise((resolveExit) =>
      child.once('exit', (code, signal) => {
        this.exit = { code, signal };
        resolveExit(this.exit);
      }),
    );
  }

  static start(env: NodeJS.ProcessEnv): ServerProcess {
    return new ServerProcess(spawn(process.execPath, [MAIN], { env, stdio: ['ignore', 'pipe', 'pipe'] }));
  }

  get running(): boolean {
    return this.exit === undefined;
  }

  /** Resolves once GET /api/v1/health answers 200; rejects when the process exits first or after `timeoutMs`. */
  async ready(url: string, timeoutMs = BOOT_MS): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.running) throw new Error(`the server exited (${JSON.stringify(this.exit)}) before answering:\n${this.output}`);
      try {
        if ((await fetch(`${url}/api/v1/health`)).status === 200) return;
      } catch {
        // Not listening yet: try again.
      }
      await new Promise((resolveWait) => setTimeout(resolveWait, 100));
    }
    throw new Error(`the server did not answer /api/v1/health within ${timeoutMs} ms:\n${this.output}`);
  }

  /** Sends SIGTERM and resolves with how the process ended, or undefined when it did not within `timeoutMs`. */
  async terminate(timeoutMs = STOP_MS): Promise<{ code: number | null; signal: NodeJS.Signals | null } | undefined> {
    if (this.running) this.child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<undefined>((resolveTimeout) => (timer = setTimeout(() => resolveTimeout(undefined), timeoutMs)));
    const result = await Promise.race([this.exited, timeout]);
    clearTimeout(timer);
    return result;
  }

  /** SIGTERM, then SIGKILL when it does not exit in time. */
  async stop(): Promise<void> {
    if (!this.running) return;
    if (!(await this.terminate())) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }
}

/**
 * Starts the built server on a free port and waits until it answers. A port can be taken
 * between the probe and the server's listen (by another test's server or PostgreSQL): the
 * start is then retried on another port.
 */
async function boot(env: NodeJS.ProcessEnv): Promise<{ server: ServerProcess; url: string }> {
  for (let attempt = 1; ; attempt += 1) {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const server = ServerProcess.start({ ...env, PORT: String(port) });
    try {
      await server.ready(url);
      return { server, url };
    } catch (error) {
      await server.stop();
      if (attempt === 3 || !server.output.includes('EADDRINUSE')) throw error;
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

describe('A restart of the server process', () => {
  let dataDir: string;
  let url: string;
  let env: NodeJS.ProcessEnv;
  let runtime: LocalRuntime;
  let server: ServerProcess | undefined;
  const opened: SocketTerminal[] = [];
  let account: Awaited<ReturnType<typeof registerUser>>;
  let environmentId: string;
  let first: SocketTerminal;
  let shellPid: string;

  /** The process id of the shell in the environment's tmux session, asked of its tmux server. */
  async function tmuxShellPid(): Promise<string> {
    const { socket } = runtime.paths({ id: environmentId });
    const { stdout } = await execFileAsync('tmux', ['-S', socket, 'list-panes', '-t', `=devpocket_${environmentId}`, '-F', '#{pane_pid}']);
    return stdout.trim();
  }

  beforeAll(async () => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run npm run build first`);
    dataDir = await mkdtemp(join(tmpdir(), 'devpocket-restart-'));
    // Run as root, the embedded PostgreSQL runs as `postgres`: its parents must be traversable.
    await chmod(dataDir, 0o755);
    runtime = new LocalRuntime({ dataDir });
    env = { ...process.env };
    for (const name of ['DATABASE_URL', 'TMUX_SOCKET_DIR', 'NODE_OPTIONS', 'PUBLIC_URL', 'ADMIN_EMAILS']) delete env[name];
    Object.assign(env, {
      DATA_DIR: dataDir,
      HOST: '127.0.0.1',
      TEMPLATES_DIR: resolve('templates'),
      LOG_LEVEL: 'error',
      JWT_SECRET: randomBytes(32).toString('hex'),
    });

    ({ server, url } = await boot(env));
    account = await registerUser(`${url}/api/v1`);
    const templates = await request('GET', `${url}/api/v1/templates?q=ubuntu`, { token: account.accessToken });
    const template = templates.body.items.find((item: { name: string }) => item.name === 'ubuntu');
    const created = await request('POST', `${url}/api/v1/environments`, { token: account.accessToken, body: { name: 'survivor', templateId: template.id } });
    expect(created.status).toBe(201);
    environmentId = created.body.id;
    await waitForStatus(`${url}/api/v1`, account.accessToken, environmentId, 'running');

    first = (await SocketTerminal.open(url, account.accessToken, { environmentId, cols: 80, rows: 24 })).terminal;
    opened.push(first);
    first.type('export STATE=kept-$((6*7)); echo EXPORTED_$((6*7))\r');
    await first.waitFor(/EXPORTED_42/);
    shellPid = await tmuxShellPid();
  }, BOOT_MS + 20_000);

  afterAll(async () => {
    closeAll(opened.splice(0));
    await server?.stop();
    if (runtime) {
      await runtime.killAllServers();
      await rm(runtime.socketDir, { recursive: true, force: true });
    }
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  }, STOP_MS + 10_000);

  it('stops on SIGTERM with exit code 0, telling attached clients and stopping the embedded PostgreSQL', async () => {
    const pidFile = join(dataDir, 'postgres', 'postmaster.pid');
    const postgresPid = Number((await readFile(pidFile, 'utf8')).split('\n')[0]);
    expect(isAlive(postgresPid)).toBe(true);

    const ended = await server!.terminate();
    expect(ended).toEqual({ code: 0, signal: null });

    await first.waitUntil(() => first.exits.length > 0 || first.disconnectReason !== undefined, 'exit or disconnect');
    if (first.exits.length > 0) expect(first.exits).toEqual([{ reason: 'server_restart' }]);
    expect(first.connected).toBe(false);

    expect(existsSync(pidFile) ? isAlive(Number((await readFile(pidFile, 'utf8')).split('\n')[0])) : false).toBe(false);
    expect(isAlive(postgresPid)).toBe(false);
  }, STOP_MS + 5_000);

  it('leaves the tmux server and its shell running while the API process is gone', async () => {
    expect(server!.running).toBe(false);
    expect(await tmuxShellPid()).toBe(shellPid);
  });

  it('comes back on the same data dir with the account, the environment and the shell state', async () => {
    // On a fresh port: between the two runs another process may have taken the first one.
    ({ server, url } = await boot(env));

    const login = await request('POST', `${url}/api/v1/auth/login`, { body: { username: account.user.username, password: account.password } });
    expect(login.status).toBe(200);
    const token: string = login.body.accessToken;
    const environment = await request('GET', `${url}/api/v1/environments/${environmentId}`, { token });
    expect(environment.body).toMatchObject({ id: environmentId, status: 'running' });

    const { terminal, ack } = await SocketTerminal.open(url, token, { environmentId, cols: 80, rows: 24 });
    opened.push(terminal);
    expect(ack).toMatchObject({ seq: 0, resume: 'new' });
    terminal.type('echo STATE_IS_$STATE\r');
    await terminal.waitFor(/STATE_IS_kept-42/);
    expect(terminal.seqViolations).toEqual([]);
    expect(await tmuxShellPid()).toBe(shellPid);
  }, BOOT_MS + 10_000);
});
