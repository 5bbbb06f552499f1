import { execFile, type ExecFileException } from 'node:child_process';
import { createHash } from 'node:crypto';
import { constants as fsConstants, watch, type FSWatcher } from 'node:fs';
import { access, appendFile, chmod, lstat, mkdir, open, readdir, readFile, rm, stat, writeFile, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { promisify } from 'node:util';
import * as pty from 'node-pty';
import { Observable, Subject, filter } from 'rxjs';
import {
  EnvironmentRuntime,
  RuntimeError,
  tmuxSessionName,
  type ResourceQuantities,
  type RuntimeEnvironment,
  type RuntimeState,
  type RuntimeStatusEvent,
  type RuntimeTemplate,
  type TerminalOptions,
  type TerminalStream,
  messageOf,
} from '../environment-runtime.js';
import { shellQuote } from '@devpocket/kubernetes';
import { PerKeyQueue } from '../per-key-queue.js';

const execFileAsync = promisify(execFile);

/** Where the local driver's log lines go; `console` fits, and so does a Nest `Logger`. */
export interface LocalRuntimeLogger {
  log(message: string): void;
  warn(message: string): void;
}

/** Options of {@link LocalRuntime}. */
export interface LocalRuntimeOptions {
  /** The data directory; environments live in `<dataDir>/environments/<environmentId>/`. */
  dataDir: string;
  /**
   * Directory of the per-environment tmux server sockets (`<environmentId>.sock`), created with
   * mode 0700. Default `<os.tmpdir()>/devpocket-<uid>/<first 10 hex of sha256(resolved dataDir)>`,
   * short on purpose: a unix socket path must fit in ~104 bytes, a deep dataDir would not.
   */
  socketDir?: string;
  /** Absolute path of the shell run in the tmux session. Default: bash if installed, else /bin/sh. */
  shell?: string;
  /** Receives one line per lifecycle step. Default: silent. */
  logger?: LocalRuntimeLogger;
}

/** The files of one environment on the host, all absolute paths. */
export interface LocalEnvironmentPaths {
  /** `<dataDir>/environments/<environmentId>`. */
  dir: string;
  /** `<dir>/home`: the shell's HOME and working directory. */
  home: string;
  /** `<dir>/tmux.conf`, written by {@link LocalRuntime.provision}. */
  tmuxConf: string;
  /** `<dir>/env.json`: the template's environment variables, a JSON object of strings. */
  envFile: string;
  /** `<dir>/devpocket.log`: timestamped lifecycle lines, read back by {@link LocalRuntime.logs}. */
  logFile: string;
  /** `<dir>/started`: present from {@link LocalRuntime.start} to {@link LocalRuntime.stop}. */
  startedMarker: string;
  /** `<socketDir>/<environmentId>.sock`: the environment's own tmux server socket. */
  socket: string;
}

/** Longest unix socket path accepted, in bytes: `sun_path` is 104 bytes on macOS/BSD (108 on Linux), NUL included. */
const MAX_SOCKET_PATH_BYTES = 103;

/** Environment ids become path components and tmux names, so only UUID-like ids are accepted. */
const ENVIRONMENT_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** POSIX shell variable names; anything else cannot be exported by the shell anyway. */
const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Variables the driver owns: a template made for a container image must not point the host
 * shell at a container's PATH or HOME, nor make it believe it runs inside another tmux.
 */
const RESERVED_VARIABLES = new Set(['HOME', 'SHELL', 'TERM', 'PATH', 'LANG', 'USER', 'LOGNAME', 'TMUX', 'TMUX_PANE']);

/** What tmux(1) writes when nothing listens on the socket: a stopped environment, not a failure. */
const NO_SERVER = /no server running|error connecting to|No such file or directory|Connection refused/i;

/** Upper bound of one tmux command, in milliseconds; a wedged server must not hang an API request. */
const TMUX_TIMEOUT_MS = 10_000;

/** How long a closed terminal's tmux client gets to detach on SIGHUP before SIGKILL, in milliseconds. */
const CLIENT_KILL_GRACE_MS = 2_000;

/** The terminal type the PTY presents to the tmux client (node-pty sets TERM from it). */
const CLIENT_TERM = 'xterm-256color';

/**
 * The local driver of {@link EnvironmentRuntime}: each environment is a directory on the host and
 * a tmux server of its own (`tmux -S <socket>`), whose session `devpocket_<id>` runs the shell.
 * tmux servers daemonize, so shells survive a restart of the API process; a terminal is one
 * tmux client in a node-pty PTY, and closing it detaches that client only.
 *
 * Follows tmux(1) (3.3): `new-session -d`, `attach-session [-r]`, `has-session`,
 * `kill-server`, and the options written to each environment's `tmux.conf`.
 * Template startup commands target container images and are never run on the host.
 *
 * Every method throws {@link RuntimeError}: reason `InvalidEnvironmentId`, `NotProvisioned`,
 * `NotRunning`, `TmuxMissing`, `SocketPathTooLong`, `UnsafeSocketDir`, `InvalidTemplate`,
 * `TmuxFailed` (with tmux's own message) or `RuntimeError` (a file of the environment could
 * not be read); a terminal's `resize` throws `InvalidTerminalSize`.
 */
export class LocalRuntime extends EnvironmentRuntime {
  readonly kind = 'local' as const;

  /** Absolute directory of the environments' tmux sockets (see {@link LocalRuntimeOptions.socketDir}). */
  readonly socketDir: string;

  /** Whether {@link socketDir} is the default, whose parent `devpocket-<uid>` is shared by data dirs. */
  private readonly usesDefaultSocketDir: boolean;
  private readonly dataDir: string;
  private readonly logger?: LocalRuntimeLogger;
  private readonly configuredShell?: string;
  private readonly events = new Subject<RuntimeStatusEvent>();
  /** Last state emitted per environment, so that observers see changes, not repetitions. */
  private readonly lastState = new Map<string, RuntimeState>();
  /** Lifecycle calls of one environment run one after another, so that start/stop/destroy never interleave. */
  private readonly lifecycle = new PerKeyQueue();
  private hostDefaults?: Promise<{ shell: string; lang: string; terminal: string }>;

  constructor(options: LocalRuntimeOptions) {
    super();
    this.dataDir = resolve(options.dataDir);
    this.usesDefaultSocketDir = options.socketDir === undefined;
    this.socketDir = resolve(options.socketDir ?? defaultSocketDir(this.dataDir));
    this.configuredShell = options.shell;
    this.logger = options.logger;
  }

  /**
   * The host paths of an environment. Throws RuntimeError `InvalidEnvironmentId` for an id that is
   * not UUID-like and `SocketPathTooLong` when the socket path would exceed 103 bytes.
   */
  paths(env: Pick<RuntimeEnvironment, 'id'>): LocalEnvironmentPaths {
    if (!ENVIRONMENT_ID.test(env.id)) {
      throw new RuntimeError(`Invalid environment id ${JSON.stringify(env.id)}`, 'InvalidEnvironmentId');
    }
    const dir = join(this.dataDir, 'environments', env.id);
    const socket = join(this.socketDir, `${env.id}.sock`);
    if (Buffer.byteLength(socket) > MAX_SOCKET_PATH_BYTES) {
      throw new RuntimeError(
        `tmux socket path ${socket} is longer than ${MAX_SOCKET_PATH_BYTES} bytes; configure a shorter socket directory`,
        'SocketPathTooLong',
      );
    }
    return {
      dir,
      home: join(dir, 'home'),
      tmuxConf: join(dir, 'tmux.conf'),
      envFile: join(dir, 'env.json'),
      logFile: join(dir, 'devpocket.log'),
      startedMarker: join(dir, 'started'),
      socket,
    };
  }

  /**
   * Creates `<dataDir>/environments/<id>/{home/,tmux.conf,env.json,devpocket.log}`, idempotently
   * (tmux.conf and env.json are rewritten). The template's image and startup commands and the
   * resource quantities are recorded in the log but not applied: they describe a container.
   * Throws RuntimeError `InvalidTemplate` for a variable name a shell cannot export.
   */
  async provision(env: RuntimeEnvironment, template: RuntimeTemplate, resources: ResourceQuantities): Promise<void> {
    const paths = this.paths(env);
    await this.serialize(env.id, async () => {
      const variables: Record<string, string> = {};
      const reserved: string[] = [];
      for (const [name, value] of Object.entries(template.environmentVariables)) {
        if (!VARIABLE_NAME.test(name)) {
          throw new RuntimeError(`Template ${template.name} has an invalid environment variable name ${JSON.stringify(name)}`, 'InvalidTemplate');
        }
        if (RESERVED_VARIABLES.has(name)) reserved.push(name);
        else variables[name] = value;
      }
      const defaults = await this.defaults();
      await mkdir(paths.home, { recursive: true, mode: 0o700 });
      await writeFile(paths.tmuxConf, tmuxConf(defaults.terminal, defaults.shell), { mode: 0o600 });
      await writeFile(paths.envFile, `${JSON.stringify(variables, null, 2)}\n`, { mode: 0o600 });
      await this.appendLog(
        paths,
        `provisioned from template ${template.name} (image ${template.image} is not used by the local runtime; ` +
          `cpu ${resources.cpu}, memory ${resources.memory}, storage ${resources.storage} are not enforced on the host)`,
      );
      if (reserved.length > 0) {
        await this.appendLog(paths, `template variables ${reserved.join(', ')} are set by the local runtime and were ignored`);
      }
      if (template.startupCommands.length > 0) {
        await this.appendLog(paths, `${template.startupCommands.length} startup command(s) target the container image and were not run on the host`);
      }
      this.logger?.log(`Provisioned local environment ${env.id} in ${paths.dir}`);
    });
  }

  /**
   * Starts the environment's tmux server with a detached session `devpocket_<id>` of 80x24 cells
   * running the shell in `home/`. Does nothing when the session already runs. The server
   * daemonizes (tmux(1)), so it outlives this process. Emits `running`.
   * Throws RuntimeError `NotProvisioned` when {@link provision} has not run.
   */
  async start(env: RuntimeEnvironment): Promise<void> {
    const paths = this.paths(env);
    await this.serialize(env.id, async () => {
      if (!(await exists(paths.tmuxConf))) {
        throw new RuntimeError(`Environment ${env.id} is not provisioned`, 'NotProvisioned');
      }
      if (await this.ensureSession(env.id, paths)) {
        await this.appendLog(paths, `started tmux server on ${paths.socket}`);
        this.logger?.log(`Started local environment ${env.id}`);
      }
      await writeFile(paths.startedMarker, `${new Date().toISOString()}\n`, { mode: 0o600 });
      this.emit(env.id, 'running');
    });
  }

  /**
   * Kills the environment's tmux server (`kill-server`), ending its shell and every attached
   * client, and removes the socket file. A server that is not running counts as stopped.
   * Emits `stopped`.
   */
  async stop(env: RuntimeEnvironment): Promise<void> {
    const paths = this.paths(env);
    await this.serialize(env.id, async () => {
      await rm(paths.startedMarker, { force: true });
      const killed = await this.killServer(paths.socket);
      if (await exists(paths.dir)) {
        await this.appendLog(paths, killed ? 'stopped tmux server' : 'stop requested; tmux server was not running');
      }
      if (killed) this.logger?.log(`Stopped local environment ${env.id}`);
      this.emit(env.id, 'stopped');
    });
  }

  /** Stops the environment, then removes its directory (home included) and socket. Emits `absent`. */
  async destroy(env: RuntimeEnvironment): Promise<void> {
    await this.stop(env);
    const paths = this.paths(env);
    await this.serialize(env.id, async () => {
      await rm(paths.dir, { recursive: true, force: true });
      await rm(paths.socket, { force: true });
      this.logger?.log(`Destroyed local environment ${env.id}`);
      this.emit(env.id, 'absent');
    });
  }

  /**
   * `running` between {@link start} and {@link stop} (whether or not a shell is alive right now:
   * the next terminal starts one), `stopped` when only the directory exists, else `absent`.
   */
  async inspect(env: RuntimeEnvironment): Promise<RuntimeState> {
    const paths = this.paths(env);
    if (await exists(paths.startedMarker)) return 'running';
    return (await exists(paths.dir)) ? 'stopped' : 'absent';
  }

  /**
   * The state changes this driver causes for the environment: `running` after {@link start},
   * `stopped` after {@link stop}, `absent` after {@link destroy}. Hot (no replay of the current
   * state); never completes.
   */
  observe(env: RuntimeEnvironment): Observable<RuntimeStatusEvent> {
    const { id } = env;
    return this.events.pipe(filter((event) => event.environmentId === id));
  }

  /**
   * Attaches a new tmux client to the session in a PTY of `cols`x`rows` cells (`attach-session`,
   * or `attach-session -r` when `readOnly`: tmux then drops the keystrokes). When the shell had
   * exited (the user typed `exit`), a fresh session is started first, as a pod's exec would.
   * Throws RuntimeError `NotRunning` when the environment is not started: the API never starts
   * a stopped environment as a side effect of opening a terminal.
   */
  async openTerminal(env: RuntimeEnvironment, options: TerminalOptions): Promise<TerminalStream> {
    const paths = this.paths(env);
    if (!(await exists(paths.startedMarker))) {
      throw new RuntimeError(`Environment ${env.id} is not running`, 'NotRunning');
    }
    await this.serialize(env.id, () => this.ensureSession(env.id, paths));
    const session = tmuxSessionName(env.id);
    // The session exists (ensureSession, in the lifecycle queue), so the client only attaches:
    // `new-session -A` would start a new tmux server if a stop got in between, resurrecting a
    // stopped environment's shell. The client takes its size from the PTY.
    const args = ['-S', paths.socket, '-f', paths.tmuxConf, 'attach-session', ...(options.readOnly ? ['-r'] : []), '-t', `=${session}`];
    const shellEnv = await this.shellEnvironment(paths);
    let client: pty.IPty;
    try {
      client = pty.spawn('tmux', args, { name: CLIENT_TERM, cols: options.cols, rows: options.rows, cwd: paths.home, env: shellEnv });
    } catch (error) {
      throw new RuntimeError(`Could not start a tmux client for environment ${env.id}: ${messageOf(error)}`, 'TmuxFailed', { cause: error });
    }
    return new PtyTerminalStream(client);
  }

  /** The last `tail` lines of `<dir>/devpocket.log`, oldest first; `[]` when there is none. */
  async logs(env: RuntimeEnvironment, options: { tail: number }): Promise<string[]> {
    const paths = this.paths(env);
    if (options.tail <= 0) return [];
    let text: string;
    try {
      text = await readFile(paths.logFile, 'utf8');
    } catch (error) {
      // A never-provisioned (or destroyed) environment has no log yet: no lines.
      if (errnoOf(error) === 'ENOENT') return [];
      throw new RuntimeError(`Could not read the log of environment ${env.id}: ${messageOf(error)}`, 'RuntimeError', { cause: error });
    }
    const lines = text.split('\n');
    if (lines.at(-1) === '') lines.pop();
    return lines.slice(-options.tail);
  }

  /**
   * The last `tail` lines of `<dir>/devpocket.log` (default 100), then each line appended to it,
   * until unsubscribed. Watches the environment's directory (inotify through fs.watch), no polling.
   * Errors with RuntimeError `NotProvisioned` when the environment has no directory.
   */
  followLogs(env: RuntimeEnvironment, options: { tail?: number }): Observable<string> {
    const paths = this.paths(env);
    return new Observable<string>((subscriber) => {
      let offset = 0;
      let partial = '';
      let reading = Promise.resolve();
      // Bytes read so far end wherever the writer was: a character split across reads is kept for the next.
      const decoder = new StringDecoder('utf8');
      const emit = (bytes: Buffer) => {
        offset += bytes.length;
        const lines = (partial + decoder.write(bytes)).split('\n');
        partial = lines.pop() ?? '';
        return lines;
      };
      const readAppended = () => {
        reading = reading
          .then(async () => {
            for (const line of emit(await readFrom(paths.logFile, offset))) subscriber.next(line);
          })
          .catch((error: unknown) => subscriber.error(error));
      };
      let watcher: FSWatcher | undefined;
      try {
        watcher = watch(paths.dir, (_event, file) => {
          if (file === null || file === 'devpocket.log') readAppended();
        });
      } catch (error) {
        subscriber.error(errnoOf(error) === 'ENOENT' ? new RuntimeError(`Environment ${env.id} is not provisioned`, 'NotProvisioned') : error);
        return undefined;
      }
      watcher.on('error', (error) => subscriber.error(error));
      // The tail and the offset come from one read, so no line is lost or repeated in between.
      const tail = options.tail ?? 100;
      reading = readFrom(paths.logFile, 0)
        .then((content) => {
          const lines = emit(content);
          for (const line of tail > 0 ? lines.slice(-tail) : []) subscriber.next(line);
        })
        .catch((error: unknown) => subscriber.error(error));
      return () => watcher?.close();
    });
  }

  /**
   * Kills every tmux server whose socket (`*.sock`) is in {@link socketDir} and removes the
   * socket files. For tests and for an operator's cleanup; the API never calls it.
   * Resolves with the number of servers that were running.
   */
  async killAllServers(): Promise<number> {
    let names: string[];
    try {
      names = await readdir(this.socketDir);
    } catch (error) {
      // No socket directory means no server was ever started by this driver.
      if (errnoOf(error) === 'ENOENT') return 0;
      throw error;
    }
    let killed = 0;
    for (const name of names.filter((entry) => entry.endsWith('.sock'))) {
      if (await this.killServer(join(this.socketDir, name))) killed += 1;
    }
    return killed;
  }

  /** Runs `kill-server` on a socket and removes the socket file; resolves whether a server was running. */
  private async killServer(socket: string): Promise<boolean> {
    let killed = true;
    try {
      await this.tmux(['-S', socket, 'kill-server'], baseEnvironment());
    } catch (error) {
      if (!(error instanceof TmuxCommandError && NO_SERVER.test(error.stderr))) throw error;
      killed = false;
    }
    await rm(socket, { force: true });
    return killed;
  }

  private async hasSession(environmentId: string, paths: LocalEnvironmentPaths): Promise<boolean> {
    try {
      // `=` asks for an exact match; tmux would otherwise also accept a session name prefix.
      await this.tmux(['-S', paths.socket, 'has-session', '-t', `=${tmuxSessionName(environmentId)}`], baseEnvironment());
      return true;
    } catch (error) {
      // has-session exits 1 both for "no server" and "can't find session": either way not running.
      if (error instanceof TmuxCommandError) return false;
      throw error;
    }
  }

  /**
   * Starts the tmux server with a detached session `devpocket_<id>` of 80x24 cells running the
   * shell in `home/`, unless it already runs; resolves whether it started one.
   */
  private async ensureSession(environmentId: string, paths: LocalEnvironmentPaths): Promise<boolean> {
    if (await this.hasSession(environmentId, paths)) return false;
    await this.ensureSocketDir();
    const shellEnv = await this.shellEnvironment(paths);
    try {
      await this.tmux(
        ['-S', paths.socket, '-f', paths.tmuxConf, 'new-session', '-d', '-s', tmuxSessionName(environmentId), '-x', '80', '-y', '24', '-c', paths.home],
        shellEnv,
        paths.home,
      );
    } catch (error) {
      // Another process (a second API replica on this host) may have created the session
      // between the check and new-session; tmux then reports a duplicate session.
      if (!(await this.hasSession(environmentId, paths))) throw error;
    }
    return true;
  }

  private async tmux(args: string[], env: NodeJS.ProcessEnv, cwd?: string): Promise<string> {
    try {
      // A server started here daemonizes (fork, setsid, stdio on /dev/null: tmux(1) server.c),
      // so it holds none of these pipes and gets no signal when this process dies; execFile
      // would not pass `detached` to spawn anyway.
      const { stdout } = await execFileAsync('tmux', args, { env, cwd, timeout: TMUX_TIMEOUT_MS, encoding: 'utf8' });
      return stdout;
    } catch (error) {
      const failure = error as ExecFileException & { stderr?: string };
      if (failure.code === 'ENOENT') {
        throw new RuntimeError('tmux is not installed on this host (the local runtime needs it, e.g. apt-get install -y tmux)', 'TmuxMissing', { cause: error });
      }
      const stderr = (failure.stderr ?? '').trim();
      throw new TmuxCommandError(`tmux ${commandOf(args)} failed: ${stderr || failure.message}`, stderr, error);
    }
  }

  /** The shell's environment: nothing of the API process's secrets, only what a login needs. */
  private async shellEnvironment(paths: LocalEnvironmentPaths): Promise<NodeJS.ProcessEnv> {
    const defaults = await this.defaults();
    let variables: Record<string, string> = {};
    try {
      variables = parseVariables(await readFile(paths.envFile, 'utf8'));
    } catch (error) {
      // An environment provisioned by an older driver has no env.json: no template variables.
      if (errnoOf(error) !== 'ENOENT') {
        throw new RuntimeError(`Could not read ${paths.envFile}: ${messageOf(error)}`, 'RuntimeError', { cause: error });
      }
    }
    return {
      ...variables,
      ...baseEnvironment(),
      HOME: paths.home,
      SHELL: defaults.shell,
      TERM: CLIENT_TERM,
      LANG: defaults.lang,
    };
  }

  private defaults(): Promise<{ shell: string; lang: string; terminal: string }> {
    this.hostDefaults ??= (async () => ({
      shell: this.configuredShell ?? (await firstExecutable(['/bin/bash', '/usr/bin/bash', '/usr/local/bin/bash'])) ?? '/bin/sh',
      lang: await utf8Locale(),
      terminal: await tmuxTerminal(),
    }))().catch((error: unknown) => {
      // Not cached: a transient failure (a timed-out `locale -a`) must not stick for the process's life.
      this.hostDefaults = undefined;
      throw error;
    });
    return this.hostDefaults;
  }

  /**
   * Creates the socket directory with mode 0700; a directory under a shared /tmp that belongs to
   * someone else would let them reach every shell, so that is refused.
   */
  private async ensureSocketDir(): Promise<void> {
    const uid = process.getuid?.();
    for (const dir of this.usesDefaultSocketDir ? [join(this.socketDir, '..'), this.socketDir] : [this.socketDir]) {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const info = await lstat(dir);
      if (!info.isDirectory() || (uid !== undefined && info.uid !== uid)) {
        throw new RuntimeError(`Socket directory ${dir} is not a directory owned by this user`, 'UnsafeSocketDir');
      }
      if ((info.mode & 0o077) !== 0) await chmod(dir, 0o700);
    }
  }

  private async appendLog(paths: LocalEnvironmentPaths, message: string): Promise<void> {
    await appendFile(paths.logFile, `${new Date().toISOString()} ${message}\n`, { mode: 0o600 });
  }

  private emit(environmentId: string, state: RuntimeState): void {
    if (this.lastState.get(environmentId) === state) return;
    if (state === 'absent') this.lastState.delete(environmentId);
    else this.lastState.set(environmentId, state);
    this.events.next({ environmentId, state });
  }

  private serialize<T>(environmentId: string, task: () => Promise<T>): Promise<T> {
    return this.lifecycle.run(environmentId, task);
  }

}

/** A tmux command exited non-zero; `stderr` is tmux's message (e.g. "no server running on …"). */
class TmuxCommandError extends RuntimeError {
  constructor(
    message: string,
    readonly stderr: string,
    cause: unknown,
  ) {
    super(message, 'TmuxFailed', { cause });
  }
}

/** A {@link TerminalStream} over one tmux client running in a node-pty PTY. */
class PtyTerminalStream implements TerminalStream {
  private exit?: { exitCode: number; signal?: number };
  private closed = false;
  private readonly exitListeners: Array<(exit: { exitCode: number; signal?: number }) => void> = [];

  constructor(private readonly client: pty.IPty) {
    client.onExit((exit) => {
      this.exit = exit.signal ? { exitCode: exit.exitCode, signal: exit.signal } : { exitCode: exit.exitCode };
      for (const listener of this.exitListeners.splice(0)) listener(this.exit);
    });
  }

  onData(listener: (data: string) => void): void {
    this.client.onData(listener);
  }

  onExit(listener: (exit: { exitCode: number; signal?: number }) => void): void {
    const exit = this.exit;
    if (exit) queueMicrotask(() => listener(exit));
    else this.exitListeners.push(listener);
  }

  write(data: string): void {
    if (this.exit || this.closed) return;
    this.client.write(data);
  }

  resize(cols: number, rows: number): void {
    if (this.exit || this.closed) return;
    if (!Number.isInteger(cols) || !Number.isInteger(rows) || cols < 1 || rows < 1) {
      throw new RuntimeError(`Invalid terminal size ${cols}x${rows}`, 'InvalidTerminalSize');
    }
    this.client.resize(cols, rows);
  }

  pause(): void {
    if (!this.exit) this.client.pause();
  }

  resume(): void {
    if (!this.exit) this.client.resume();
  }

  close(): void {
    if (this.closed || this.exit) {
      this.closed = true;
      return;
    }
    this.closed = true;
    // A paused PTY would keep the client blocked on output and never see the hang-up.
    this.client.resume();
    // SIGHUP is what a tmux client gets when its terminal goes away: it detaches, and the
    // session (the shell) stays in the server.
    this.client.kill('SIGHUP');
    const timer = setTimeout(() => {
      if (!this.exit) this.client.kill('SIGKILL');
    }, CLIENT_KILL_GRACE_MS);
    timer.unref();
  }
}

/** tmux(1) configuration of an environment's server: the whole screen is the shell. */
function tmuxConf(terminal: string, shell: string): string {
  return [
    '# Written by DevPocket (local runtime); rewritten on every provision.',
    'set -g status off',
    '# Clients of different sizes (phone, laptop) share one window: the most recently active sets its size.',
    'set -g window-size latest',
    'setw -g aggressive-resize on',
    'set -g history-limit 10000',
    // tmux(1) reads single quotes as sh(1) does.
    `set -g default-terminal ${shellQuote(terminal)}`,
    `set -g default-shell ${shellQuote(shell)}`,
    'set -s escape-time 0',
    'set -s exit-empty on',
    '',
  ].join('\n');
}

/** `<os.tmpdir()>/devpocket-<uid>/<first 10 hex of sha256(dataDir)>`: short, and one per data dir. */
function defaultSocketDir(resolvedDataDir: string): string {
  const uid = process.getuid?.() ?? 'user';
  const digest = createHash('sha256').update(resolvedDataDir).digest('hex').slice(0, 10);
  return join(tmpdir(), `devpocket-${uid}`, digest);
}

/** Reads env.json: a JSON object of variable names to string values; throws on anything else. */
function parseVariables(text: string): Record<string, string> {
  const parsed: unknown = JSON.parse(text);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not a JSON object');
  const variables: Record<string, string> = {};
  for (const [name, value] of Object.entries(parsed)) {
    if (!VARIABLE_NAME.test(name) || RESERVED_VARIABLES.has(name) || typeof value !== 'string') {
      throw new Error(`invalid variable ${JSON.stringify(name)}`);
    }
    variables[name] = value;
  }
  return variables;
}

/** The process's PATH and user, and nothing else of its environment (no TMUX, no secrets). */
function baseEnvironment(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin' };
  if (process.env.USER) env.USER = process.env.USER;
  if (process.env.LOGNAME) env.LOGNAME = process.env.LOGNAME;
  return env;
}

async function firstExecutable(candidates: string[]): Promise<string | undefined> {
  for (const candidate of candidates) {
    try {
      await access(candidate, fsConstants.X_OK);
      return candidate;
    } catch (error) {
      // Not there or not executable: try the next candidate.
      if (!['ENOENT', 'EACCES', 'ENOTDIR'].includes(errnoOf(error) ?? '')) throw error;
    }
  }
  return undefined;
}

/** A UTF-8 locale installed on the host (`locale -a`), preferring C.UTF-8; `C.UTF-8` when unknown. */
async function utf8Locale(): Promise<string> {
  let installed: string[];
  try {
    installed = (await execFileAsync('locale', ['-a'], { encoding: 'utf8', timeout: TMUX_TIMEOUT_MS })).stdout.split('\n');
  } catch (error) {
    // No `locale` command (minimal images, musl): C.UTF-8 is the one UTF-8 locale they all accept.
    if (errnoOf(error) === 'ENOENT') return 'C.UTF-8';
    throw error;
  }
  const utf8 = installed.map((name) => name.trim()).filter((name) => /utf-?8$/i.test(name));
  const preferred = utf8.find((name) => /^C\.utf-?8$/i.test(name)) ?? utf8.find((name) => /^en_US\./i.test(name)) ?? utf8[0];
  if (!preferred) return 'C.UTF-8';
  return /^C\.utf-?8$/i.test(preferred) ? 'C.UTF-8' : preferred;
}

/**
 * The `default-terminal` for panes: `tmux-256color` when the host's terminfo has it (programs in
 * the shell look TERM up there), else `screen-256color`, else `screen`, which ncurses always ships.
 */
async function tmuxTerminal(): Promise<string> {
  const home = process.env.HOME;
  const roots = [...(home ? [join(home, '.terminfo')] : []), '/etc/terminfo', '/lib/terminfo', '/usr/share/terminfo', '/usr/lib/terminfo'];
  for (const name of ['tmux-256color', 'screen-256color']) {
    for (const root of roots) {
      // Linux ncurses files entries by first letter, macOS by its hex code.
      const candidates = [join(root, name[0], name), join(root, name.charCodeAt(0).toString(16), name)];
      for (const candidate of candidates) {
        if (await exists(candidate)) return name;
      }
    }
  }
  return 'screen';
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    // Only "not there" means absent; a permission error must surface.
    if (errnoOf(error) === 'ENOENT' || errnoOf(error) === 'ENOTDIR') return false;
    throw error;
  }
}

/** The tmux command of an argument list, without the `-S <socket> -f <conf>` prefix, for messages. */
function commandOf(args: string[]): string {
  let index = 0;
  while (args[index] === '-S' || args[index] === '-f') index += 2;
  return args.slice(index).join(' ');
}

/** The bytes of `file` from `offset` to its current end; none when it does not exist yet (the log appears with the first lifecycle line). */
async function readFrom(file: string, offset: number): Promise<Buffer> {
  let handle: FileHandle;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') return Buffer.alloc(0);
    throw error;
  }
  try {
    const { size } = await handle.stat();
    if (size <= offset) return Buffer.alloc(0);
    const buffer = Buffer.alloc(size - offset);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, offset);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

function errnoOf(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
}
