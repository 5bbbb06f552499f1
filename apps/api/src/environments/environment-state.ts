/**
 * Statuses of an environment (API.md "Environments"):
 * `creating` → `provisioning` → `installing` → `running`; `stopping` → `stopped`; `restarting`;
 * `error`; `terminating` (then the row is deleted).
 */
export const ENVIRONMENT_STATUSES = [
  'creating',
  'provisioning',
  'installing',
  'running',
  'stopping',
  'stopped',
  'restarting',
  'error',
  'terminating',
] as const;
export type EnvironmentStatus = (typeof ENVIRONMENT_STATUSES)[number];

/** What a user can ask of an environment. */
export type LifecycleAction = 'start' | 'stop' | 'restart' | 'delete';

/** Statuses in which work is in flight; a server that restarts finds them and finishes the work. */
export const TRANSITIONAL_STATUSES: ReadonlySet<EnvironmentStatus> = new Set([
  'creating',
  'provisioning',
  'installing',
  'stopping',
  'restarting',
  'terminating',
]);

/** From which statuses each action is allowed (API.md "Details clients rely on"). */
const ALLOWED_FROM: Record<LifecycleAction, ReadonlySet<EnvironmentStatus> | 'any'> = {
  start: new Set(['stopped', 'error']),
  stop: new Set(['running', 'installing']),
  restart: new Set(['running']),
  delete: 'any',
};

/** Whether `action` may be asked of an environment in `status`. */
export function canPerform(action: LifecycleAction, status: EnvironmentStatus): boolean {
  const allowed = ALLOWED_FROM[action];
  return allowed === 'any' || allowed.has(status);
}

/** The statuses `action` is allowed from, for error messages (`undefined` when any). */
export function allowedStatuses(action: LifecycleAction): EnvironmentStatus[] | undefined {
  const allowed = ALLOWED_FROM[action];
  return allowed === 'any' ? undefined : [...allowed];
}

/** Every transition the server itself makes, keyed by the status it leaves. */
const TRANSITIONS: Record<EnvironmentStatus, ReadonlySet<EnvironmentStatus>> = {
  creating: new Set(['provisioning', 'error', 'terminating']),
  provisioning: new Set(['installing', 'running', 'error', 'stopping', 'terminating']),
  installing: new Set(['running', 'error', 'stopping', 'terminating']),
  running: new Set(['stopping', 'restarting', 'stopped', 'error', 'terminating']),
  stopping: new Set(['stopped', 'error', 'terminating']),
  stopped: new Set(['provisioning', 'terminating']),
  restarting: new Set(['provisioning', 'running', 'error', 'terminating']),
  error: new Set(['provisioning', 'terminating']),
  // A failed removal is reported as `error`, from which delete can be asked again.
  terminating: new Set(['error']),
};

/** Whether the server may move an environment from `from` to `to`. */
export function canTransition(from: EnvironmentStatus, to: EnvironmentStatus): boolean {
  return TRANSITIONS[from].has(to);
}

/** The status an action puts the environment in at once, before its work runs. */
export function statusOnRequest(action: LifecycleAction): EnvironmentStatus {
  switch (action) {
    case 'start':
      return 'provisioning';
    case 'stop':
      return 'stopping';
    case 'restart':
      return 'restarting';
    case 'delete':
      return 'terminating';
  }
}

/** The statuses the server may move an environment to `to` from. */
export function predecessorsOf(to: EnvironmentStatus): EnvironmentStatus[] {
  return ENVIRONMENT_STATUSES.filter((from) => TRANSITIONS[from].has(to));
}
