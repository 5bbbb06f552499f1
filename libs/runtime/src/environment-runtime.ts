import type { Observable } from 'rxjs';

/** The runtime driver that runs an environment: `local` (tmux on the host) or `kubernetes`. */
export type RuntimeKind = 'local' | 'kubernetes';

/** Resource quantities in Kubernetes notation, e.g. `{ cpu: '500m', memory: '1Gi', storage: '5Gi' }`. */
export interface ResourceQuantities {
  cpu: string;
  memory: string;
  storage: string;
}

/** What a driver needs to know of an environment. `id` is a UUID; `userId` its owner's UUID. */
export interface RuntimeEnvironment {
  id: string;
  userId: string;
  name: string;
}

/** What a driver needs to know of a template (see API.md `Template`). */
export interface RuntimeTemplate {
  name: string;
  image: string;
  defaultPort: number;
  environmentVariables: Record<string, string>;
  startupCommands: string[];
}

/**
 * The state a driver observes for an environment: `running` when its shell can be attached,
 * `stopped` when nothing runs (the volume/directory is kept), `absent` when nothing exists,
 * `error` with a reason, and the transitional `provisioning` / `installing`.
 */
export type RuntimeState = 'provisioning' | 'installing' | 'running' | 'stopped' | 'absent' | 'error';

/** One observed change of an environment's runtime state. */
export interface RuntimeStatusEvent {
  environmentId: string;
  state: RuntimeState;
  /** Human-readable reason when `state` is `error`. */
  message?: string;
}

/** Options of {@link EnvironmentRuntime.openTerminal}: the size in character cells. */
export interface TerminalOptions {
  cols: number;
  rows: number;
  /** A read-only tmux client (`attach-session -r`): keystrokes are ignored by tmux. */
  readOnly?: boolean;
}

/**
 * A duplex PTY stream attached to the environment's tmux session `devpocket_<id>`.
 * Closing it detaches this tmux client; it never kills the shell.
 */
export interface TerminalStream {
  /** Registers the output listener; `data` is UTF-8 text as tmux wrote it (never a split code point). */
  onData(listener: (data: string) => void): void;
  /** Registers the listener called once when the tmux client ends (detached, killed, server gone). */
  onExit(listener: (exit: { exitCode: number; signal?: number }) => void): void;
  /** Writes keystrokes (UTF-8 text) to the tmux client. */
  write(data: string): void;
  /** Resizes this tmux client, in character cells. */
  resize(cols: number, rows: number): void;
  /** Stops reading output (back-pressure); the PTY's kernel buffer then stalls the writer. */
  pause(): void;
  /** Resumes reading output after {@link pause}. */
  resume(): void;
  /** Detaches this tmux client (the shell keeps running). Idempotent. */
  close(): void;
}

/** Options of the lifecycle calls that wait: `signal` (a delete superseding the work) ends the wait early. */
export interface LifecycleOptions {
  signal?: AbortSignal;
}

/**
 * The port every runtime driver implements (DESIGN.md "The runtime port"). One instance per
 * driver; the Environments service picks it per environment. Abstract class so that it is its
 * own DI token: `{ provide: EnvironmentRuntime, useClass: LocalRuntime }`.
 *
 * Every method is idempotent: calling it again after a crash converges to the same state.
 * Errors are thrown as {@link RuntimeError} with a readable message.
 */
export abstract class EnvironmentRuntime {
  abstract readonly kind: RuntimeKind;

  /** Creates what the environment needs (directory, volume, config), idempotently. */
  abstract provision(env: RuntimeEnvironment, template: RuntimeTemplate, resources: ResourceQuantities): Promise<void>;

  /** Starts the environment's shell host (tmux server / pod). Resolves when it can be attached. */
  abstract start(env: RuntimeEnvironment, options?: LifecycleOptions): Promise<void>;

  /** Stops it: the shell ends, the volume/directory is kept. A missing environment counts as stopped. */
  abstract stop(env: RuntimeEnvironment, options?: LifecycleOptions): Promise<void>;

  /** Restarts the shell host (a new tmux server / pod); by default a stop then a start. */
  async restart(env: RuntimeEnvironment, options?: LifecycleOptions): Promise<void> {
    await this.stop(env, options);
    await this.start(env, options);
  }

  /** Removes everything the environment owns, data included. A missing environment counts as done. */
  abstract destroy(env: RuntimeEnvironment): Promise<void>;

  /** The current state, read from the runtime (not from the database). */
  abstract inspect(env: RuntimeEnvironment): Promise<RuntimeState>;

  /** A stream of state changes of this environment (a watch, not polling). Completes never; unsubscribe to stop. */
  abstract observe(env: RuntimeEnvironment): Observable<RuntimeStatusEvent>;

  /** Opens a new tmux client on the environment's tmux session in a PTY. Throws RuntimeError when not running. */
  abstract openTerminal(env: RuntimeEnvironment, options: TerminalOptions): Promise<TerminalStream>;

  /** The last `tail` lines of the environment's startup and runtime log, oldest first. */
  abstract logs(env: RuntimeEnvironment, options: { tail: number }): Promise<string[]>;

  /** The last `tail` lines, then every new line as it is written, until unsubscribed (or the log ends). */
  abstract followLogs(env: RuntimeEnvironment, options: { tail?: number }): Observable<string>;
}

/** The message of a thrown value, whatever was thrown. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A failure of the runtime (tmux, cluster) with a message fit for `Environment.lastError`. */
export class RuntimeError extends Error {
  constructor(
    message: string,
    readonly reason: string = 'RuntimeError',
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'RuntimeError';
  }
}

/** The tmux session name of an environment, shared by every driver: `devpocket_<environmentId>`. */
export function tmuxSessionName(environmentId: string): string {
  return `devpocket_${environmentId}`;
}
