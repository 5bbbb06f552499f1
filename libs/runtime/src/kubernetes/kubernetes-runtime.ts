import type { KubeConfig, KubernetesObject, V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import {
  ClusterWatch,
  ConfigMapClient,
  ENVIRONMENT_CONTAINER,
  InvalidManifestError,
  KubeApiError,
  KubeConnectionError,
  NamespaceClient,
  PersistentVolumeClaimClient,
  PodClient,
  PodExec,
  SETUP_CONTAINER,
  ServiceClient,
  StatefulSetClient,
  buildConfigMap,
  buildNamespace,
  buildPersistentVolumeClaim,
  buildService,
  buildStatefulSet,
  environmentLabels,
  environmentNames,
  isEnvironmentObject,
  isKubeStatus,
  isManagedNamespace,
  shellQuote,
  type EnvironmentNames,
  type EnvironmentSpec,
  type ExecSession,
  type LogFollow,
} from '@devpocket/kubernetes';
import { Observable, filter, type Subscription } from 'rxjs';
import {
  EnvironmentRuntime,
  RuntimeError,
  tmuxSessionName,
  type LifecycleOptions,
  type ResourceQuantities,
  type RuntimeEnvironment,
  type RuntimeState,
  type RuntimeStatusEvent,
  type RuntimeTemplate,
  type TerminalOptions,
  type TerminalStream,
  messageOf,
} from '../environment-runtime.js';
import { PerKeyQueue } from '../per-key-queue.js';
import { observedState, type ObservedState } from './kubernetes-state.js';

/** Where the driver's log lines go; `console` fits, and so does a Nest `Logger`. */
export interface KubernetesRuntimeLogger {
  log(message: string): void;
  warn(message: string): void;
}

/** Options of {@link KubernetesRuntime}. */
export interface KubernetesRuntimeOptions {
  /** The cluster's credentials (see loadKubeConfig). */
  kubeConfig: KubeConfig;
  /** The registered cluster's id, for log lines. */
  clusterId: string;
  /** StorageClass of the environments' volumes; undefined = the cluster's default. */
  storageClassName?: string;
  logger?: KubernetesRuntimeLogger;
  /** How long {@link KubernetesRuntime.start} (and stop, restart) waits for the pod, in milliseconds. Default 600 000 (10 min). */
  podReadyTimeoutMs?: number;
  /** A watch silent for this long (no event, no bookmark) is restarted, in milliseconds. Default 60 000. */
  watchStaleAfterMs?: number;
  /** Upper bound of one API request, in milliseconds. Default 30 000. */
  requestTimeoutMs?: number;
}

/** Default of {@link KubernetesRuntimeOptions.podReadyTimeoutMs}. */
export const DEFAULT_POD_READY_TIMEOUT_MS = 10 * 60_000;

/** Environment ids become object names, label values and tmux names: UUID-like only. */
const ENVIRONMENT_ID = /^[A-Za-z0-9][A-Za-z0-9-]{0,47}$/;

/** The objects of one environment as the cluster watch (or a GET) last saw them. */
interface Snapshot {
  statefulSet?: V1StatefulSet;
  pod?: V1Pod;
}

/**
 * The kubernetes driver of {@link EnvironmentRuntime} for one cluster (DESIGN.md "The runtime
 * port"). Per user a namespace `devpocket-<8 hex of the user id>`; per environment, named
 * `dp-<environment id>`: a PersistentVolumeClaim (the home directory), a ConfigMap (startup.sh,
 * setup-root.sh), a ClusterIP Service for the template's port, and a StatefulSet of 0 or 1 pod
 * (`dp-<id>-0`) that runs non-root (see buildStatefulSet).
 *
 * - provision creates them with create-or-adopt (a 409 AlreadyExists adopts an object carrying
 *   the environment's labels), the StatefulSet with 0 replicas; a retry converges.
 * - start scales to 1 and resolves when the pod is Ready; stop scales to 0 and resolves when the
 *   pod is gone (the volume stays); {@link restart} deletes the pod; destroy deletes every
 *   object (a 404 counts as done) but the user's namespace.
 * - State comes from one {@link ClusterWatch} per runtime (an informer over pods and
 *   StatefulSets across namespaces), mapped by {@link observedState}; nothing polls.
 * - A terminal is an exec of `tmux new-session -A -s devpocket_<id>` in container
 *   `environment` with a TTY over the v5/v4 channel protocol, resized on channel 4.
 *
 * Every method throws {@link RuntimeError}: its `reason` is the Kubernetes Status reason for an
 * API answer (`Forbidden`, `Invalid`, …), or `InvalidEnvironmentId`, `InvalidManifest`,
 * `Conflict` (an object of that name exists but is not this environment's), `NotProvisioned`,
 * `NotRunning`, `Timeout`, `Cancelled` (a wait aborted or superseded by a destroy), `Closed`
 * (the runtime was closed), `ClusterUnreachable`, `InvalidTerminalSize`, or the pod's failure
 * reason (`ImagePullBackOff`, `CrashLoopBackOff`, `Unschedulable`, …) when start fails.
 *
 * The cluster watch starts on first need (a start, stop, restart or observe) and runs until
 * {@link close}. Decisions (inspect, opening a terminal, reading logs, the state a wait starts
 * from) read the API server; the watch tells when to look again.
 */
export class KubernetesRuntime extends EnvironmentRuntime {
  readonly kind = 'kubernetes' as const;
  /** The registered cluster this runtime drives. */
  readonly clusterId: string;

  private readonly namespaces: NamespaceClient;
  private readonly claims: PersistentVolumeClaimClient;
  private readonly configMaps: ConfigMapClient;
  private readonly services: ServiceClient;
  private readonly statefulSets: StatefulSetClient;
  private readonly pods: PodClient;
  private readonly podExec: PodExec;
  private readonly watch: ClusterWatch;
  private readonly storageClassName?: string;
  private readonly logger?: KubernetesRuntimeLogger;
  private readonly podReadyTimeoutMs: number;
  /** The last log lines read per environment: what {@link logs} answers once the pod is gone. */
  private readonly lastLogs = new Map<string, string[]>();
  /** Lifecycle calls of one environment run one after another, so that start/stop/destroy never interleave. */
  private readonly lifecycle = new PerKeyQueue();
  /** Cancels the pod waits in flight per environment (a destroy supersedes a start still waiting). */
  private readonly waits = new Map<string, Set<(error: RuntimeError) => void>>();
  private closed = false;

  constructor(options: KubernetesRuntimeOptions) {
    super();
    const clientOptions = { requestTimeoutMs: options.requestTimeoutMs };
    this.clusterId = options.clusterId;
    this.storageClassName = options.storageClassName;
    this.logger = options.logger;
    this.podReadyTimeoutMs = options.podReadyTimeoutMs ?? DEFAULT_POD_READY_TIMEOUT_MS;
    this.namespaces = new NamespaceClient(options.kubeConfig, clientOptions);
    this.claims = new PersistentVolumeClaimClient(options.kubeConfig, clientOptions);
    this.configMaps = new ConfigMapClient(options.kubeConfig, clientOptions);
    this.services = new ServiceClient(options.kubeConfig, clientOptions);
    this.statefulSets = new StatefulSetClient(options.kubeConfig, clientOptions);
    this.pods = new PodClient(options.kubeConfig, clientOptions);
    this.podExec = new PodExec(options.kubeConfig);
    this.watch = new ClusterWatch(
      options.kubeConfig,
      { pods: this.pods, statefulSets: this.statefulSets },
      {
        staleAfterMs: options.watchStaleAfterMs,
        logger: options.logger && {
          log: (message) => options.logger?.log(`cluster ${options.clusterId}: ${message}`),
          warn: (message) => options.logger?.warn(`cluster ${options.clusterId}: ${message}`),
        },
      },
    );
  }

  /**
   * Creates, or adopts when they exist, the user's namespace and the environment's PVC
   * (`resources.storage`, the configured StorageClass), ConfigMap, Service and StatefulSet
   * (0 replicas; an existing one keeps its replicas, and gets missing labels patched). Every
   * manifest is validated before it is sent.
   * @throws RuntimeError `InvalidManifest` (bad image, port, quantity), `Conflict`, or the API's reason (`Forbidden`, `Invalid`, …).
   */
  async provision(env: RuntimeEnvironment, template: RuntimeTemplate, resources: ResourceQuantities): Promise<void> {
    const names = this.names(env);
    const spec: EnvironmentSpec = {
      environmentId: env.id,
      userId: env.userId,
      templateName: template.name,
      image: template.image,
      port: template.defaultPort,
      environmentVariables: template.environmentVariables,
      startupCommands: template.startupCommands,
      resources: { cpu: resources.cpu, memory: resources.memory, storage: resources.storage },
      storageClassName: this.storageClassName,
    };
    const manifests = buildOrThrow(() => ({
      namespace: buildNamespace(env.userId),
      claim: buildPersistentVolumeClaim(spec),
      configMap: buildConfigMap(spec),
      service: buildService(spec),
      statefulSet: buildStatefulSet(spec, { replicas: 0 }),
    }));
    await this.serialize(env.id, async () => {
      await kube(async () => {
        const existing = await this.namespaces.get(names.namespace);
        const namespace = existing ?? (await this.namespaces.createOrAdopt(manifests.namespace)).object;
        if (!isManagedNamespace(namespace.metadata?.labels)) {
          throw new RuntimeError(`Namespace ${names.namespace} exists and is not managed by DevPocket`, 'Conflict');
        }
        this.owned(env, 'PersistentVolumeClaim', await this.claims.createOrAdopt(manifests.claim));
        this.owned(env, 'ConfigMap', await this.configMaps.createOrAdopt(manifests.configMap));
        this.owned(env, 'Service', await this.services.createOrAdopt(manifests.service));
        const statefulSet = await this.statefulSets.createOrAdopt(manifests.statefulSet);
        this.owned(env, 'StatefulSet', statefulSet);
        const labels = environmentLabels(env);
        const current = statefulSet.object.metadata?.labels ?? {};
        if (Object.entries(labels).some(([key, value]) => current[key] !== value)) {
          await this.statefulSets.patchLabels(names.namespace, names.name, labels);
        }
        const verb = statefulSet.created ? 'Provisioned' : 'Adopted';
        this.logger?.log(`${verb} environment ${env.id} in ${names.namespace} on cluster ${this.clusterId} (image ${template.image})`);
      });
    });
  }

  /**
   * Scales the StatefulSet to 1 and resolves when the pod is Ready (startup.sh touched its ready
   * file). Observers see `provisioning`, then `installing` while the startup script runs.
   * `options.signal` (e.g. the lifecycle queue's, aborted by a delete) ends the wait early.
   * @throws RuntimeError `NotProvisioned`; the pod's failure reason (`ImagePullBackOff`,
   *   `CrashLoopBackOff`, `Unschedulable`, …) with its message; `Timeout` after `podReadyTimeoutMs`;
   *   `Cancelled` when `options.signal` aborts or a destroy supersedes the wait; the API's reason (`Forbidden`, …).
   */
  async start(env: RuntimeEnvironment, options: LifecycleOptions = {}): Promise<void> {
    const names = this.names(env);
    await this.serialize(env.id, async () => {
      await this.watchReady();
      const scaled = await kube(() => this.statefulSets.scale(names.namespace, names.name, 1));
      if (!scaled) throw new RuntimeError(`Environment ${env.id} is not provisioned (no StatefulSet ${names.namespace}/${names.name})`, 'NotProvisioned');
      await this.waitFor(env.id, names, 'start', options.signal, await this.read(names), (snapshot) => readyOrFailure(snapshot));
      this.logger?.log(`Started environment ${env.id} on cluster ${this.clusterId}`);
    });
  }

  /**
   * Scales the StatefulSet to 0 and resolves when the pod is gone; the volume is kept. A missing
   * StatefulSet counts as stopped.
   * @throws RuntimeError `Timeout` when the pod outlives `podReadyTimeoutMs`; `Cancelled` (see {@link start}); the API's reason.
   */
  async stop(env: RuntimeEnvironment, options: LifecycleOptions = {}): Promise<void> {
    const names = this.names(env);
    await this.serialize(env.id, async () => {
      await this.watchReady();
      const scaled = await kube(() => this.statefulSets.scale(names.namespace, names.name, 0));
      if (!scaled) return;
      await this.waitFor(env.id, names, 'stop', options.signal, await this.read(names), (snapshot) => (snapshot.pod ? undefined : 'done'));
      this.logger?.log(`Stopped environment ${env.id} on cluster ${this.clusterId}`);
    });
  }

  /**
   * Deletes the pod so that the StatefulSet creates a new one (the tmux session ends; the
   * volume stays), and resolves when the new pod is Ready.
   * @throws RuntimeError `NotRunning` when the StatefulSet is scaled to 0 or absent; as {@link start} otherwise.
   */
  override async restart(env: RuntimeEnvironment, options: LifecycleOptions = {}): Promise<void> {
    const names = this.names(env);
    await this.serialize(env.id, async () => {
      await this.watchReady();
      const before = await this.read(names);
      if (!before.statefulSet || (before.statefulSet.spec?.replicas ?? 1) === 0) {
        throw new RuntimeError(`Environment ${env.id} is not started`, 'NotRunning');
      }
      const oldUid = before.pod?.metadata?.uid;
      await kube(() => this.pods.deleteIfExists(names.namespace, names.pod));
      await this.waitFor(env.id, names, 'restart', options.signal, await this.read(names), (snapshot) => (oldUid !== undefined && snapshot.pod?.metadata?.uid === oldUid ? undefined : readyOrFailure(snapshot)));
      this.logger?.log(`Restarted environment ${env.id} on cluster ${this.clusterId}`);
    });
  }

  /**
   * Deletes the StatefulSet (its pod with it), the pod itself, the Service, the ConfigMap and
   * the PVC (the data); a 404 counts as done. The user's namespace stays. A start, stop or
   * restart of the environment still waiting for its pod is cancelled first (`Cancelled`).
   * @throws RuntimeError with the API's reason (`Forbidden`, …).
   */
  async destroy(env: RuntimeEnvironment): Promise<void> {
    const names = this.names(env);
    for (const cancel of this.waits.get(env.id) ?? []) cancel(new RuntimeError(`Superseded by the deletion of environment ${env.id}`, 'Cancelled'));
    await this.serialize(env.id, async () => {
      await kube(async () => {
        await this.statefulSets.deleteIfExists(names.namespace, names.name);
        await this.pods.deleteIfExists(names.namespace, names.pod);
        await this.services.deleteIfExists(names.namespace, names.name);
        await this.configMaps.deleteIfExists(names.namespace, names.name);
        await this.claims.deleteIfExists(names.namespace, names.name);
      });
      this.lastLogs.delete(env.id);
      this.logger?.log(`Destroyed environment ${env.id} on cluster ${this.clusterId}`);
    });
  }

  /**
   * The state read from the API server (one GET of the StatefulSet, one of the pod), not from
   * the watch's cache, which may not have seen a change this process just made.
   * @throws RuntimeError with the API's reason (`Forbidden`, …), `ClusterUnreachable`.
   */
  async inspect(env: RuntimeEnvironment): Promise<RuntimeState> {
    return this.observedOf(await this.read(this.names(env))).state;
  }

  /**
   * The environment's state changes, from the cluster watch: the current state first (once the
   * watch has listed), then each change of state or message (`error` carries the kubelet's or
   * scheduler's reason and message). Completes only when {@link close} is called.
   */
  observe(env: RuntimeEnvironment): Observable<RuntimeStatusEvent> {
    const names = this.names(env);
    return new Observable<RuntimeStatusEvent>((subscriber) => {
      let last: string | undefined;
      const emit = (): void => {
        if (!this.watch.synced) return;
        const observed = this.observedOf(this.snapshot(names));
        const key = `${observed.state}\u0000${observed.message ?? ''}`;
        if (key === last) return;
        last = key;
        subscriber.next({ environmentId: env.id, state: observed.state, ...(observed.message ? { message: observed.message } : {}) });
      };
      const subscription = this.watch.events.pipe(filter((event) => concerns(event.object, names))).subscribe({ next: emit, complete: () => subscriber.complete() });
      this.watch.ready().then(emit, (error: unknown) => {
        this.logger?.warn(`cluster ${this.clusterId}: the watch for environment ${env.id} is not ready yet: ${messageOf(error)}`);
      });
      return () => subscription.unsubscribe();
    });
  }

  /**
   * Execs a tmux client in container `environment` with a TTY of `cols`x`rows`:
   * `tmux new-session -A -s devpocket_<id>`, or for `readOnly`, after making sure the session
   * exists, `tmux attach-session -r -t devpocket_<id>`. The container runs as uid 1000 with
   * HOME set; `$HOME/.devpocket/bin` (a copied tmux) comes first on PATH.
   * @throws RuntimeError `NotRunning` unless the pod is Ready; `InvalidTerminalSize`; the API's reason (`Forbidden`, …).
   */
  async openTerminal(env: RuntimeEnvironment, options: TerminalOptions): Promise<TerminalStream> {
    const names = this.names(env);
    if (!Number.isInteger(options.cols) || !Number.isInteger(options.rows) || options.cols < 1 || options.rows < 1) {
      throw new RuntimeError(`Invalid terminal size ${options.cols}x${options.rows}`, 'InvalidTerminalSize');
    }
    const state = this.observedOf(await this.read(names));
    if (state.state !== 'running') throw new RuntimeError(`Environment ${env.id} is not running (${state.state})`, 'NotRunning');
    const command = terminalCommand(env.id, options.readOnly === true);
    const session = await kube(() => this.podExec.open(names.namespace, names.pod, ENVIRONMENT_CONTAINER, command, { cols: options.cols, rows: options.rows }));
    return new ExecTerminalStream(session);
  }

  /**
   * The last `tail` lines of the pod's log, oldest first: the `setup` init container's, then the
   * `environment` container's (startup.sh's `devpocket: …` progress lines, the startup
   * commands' output). A container that has not started contributes nothing; without a pod, the
   * lines last read (or `[]`).
   * @throws RuntimeError with the API's reason (`Forbidden`, …).
   */
  async logs(env: RuntimeEnvironment, options: { tail: number }): Promise<string[]> {
    const names = this.names(env);
    if (!Number.isInteger(options.tail) || options.tail <= 0) return [];
    const pod = await kube(() => this.pods.get(names.namespace, names.pod));
    if (!pod) return (this.lastLogs.get(env.id) ?? []).slice(-options.tail);
    const lines: string[] = [];
    for (const container of [SETUP_CONTAINER, ENVIRONMENT_CONTAINER]) {
      try {
        lines.push(...(await this.pods.logTail(names.namespace, names.pod, container, options.tail)));
      } catch (error) {
        // 400: the container has not started (or the pod has no such init container); 404: the pod just went away.
        if (isKubeStatus(error, 400) || isKubeStatus(error, 404)) continue;
        throw toRuntimeError(error);
      }
    }
    const tail = lines.slice(-options.tail);
    this.lastLogs.set(env.id, tail);
    return tail;
  }

  /**
   * Follows the `environment` container's log from its last `tail` lines: each line as it is
   * written. Completes when the container stops or the pod goes away; unsubscribing aborts the
   * request. Errors with RuntimeError (`NotRunning` without a pod, or the API's reason).
   */
  followLogs(env: RuntimeEnvironment, options: { tail?: number } = {}): Observable<string> {
    const names = this.names(env);
    return new Observable<string>((subscriber) => {
      let follow: LogFollow | undefined;
      let closed = false;
      (async () => {
        const pod = await kube(() => this.pods.get(names.namespace, names.pod));
        if (!pod) throw new RuntimeError(`Environment ${env.id} has no pod`, 'NotRunning');
        follow = await kube(() =>
          this.pods.followLog(names.namespace, names.pod, ENVIRONMENT_CONTAINER, { tailLines: options.tail }, (line) => subscriber.next(line)),
        );
        if (closed) follow.stop();
        await kube(() => (follow as LogFollow).done);
        subscriber.complete();
      })().catch((error: unknown) => subscriber.error(toRuntimeError(error)));
      return () => {
        closed = true;
        follow?.stop();
      };
    });
  }

  /** Stops the cluster watch (observers complete); later calls that need it throw RuntimeError `Closed`. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    await this.watch.stop();
  }

  /** Resolves once the cluster watch has listed (starting it if needed). */
  private async watchReady(): Promise<void> {
    if (this.closed) throw new RuntimeError(`The runtime of cluster ${this.clusterId} is closed`, 'Closed');
    await kube(() => this.watch.ready());
  }

  private names(env: Pick<RuntimeEnvironment, 'id' | 'userId'>): EnvironmentNames {
    if (!ENVIRONMENT_ID.test(env.id)) throw new RuntimeError(`Invalid environment id ${JSON.stringify(env.id)}`, 'InvalidEnvironmentId');
    try {
      return environmentNames(env);
    } catch (error) {
      throw new RuntimeError(messageOf(error), 'InvalidEnvironmentId', { cause: error });
    }
  }

  /** An adopted object must carry the environment's labels: anything else is someone else's. */
  private owned(env: RuntimeEnvironment, kind: string, result: { object: KubernetesObject; created: boolean }): void {
    if (result.created || isEnvironmentObject(result.object.metadata?.labels, env.id)) return;
    const { namespace, name } = result.object.metadata ?? {};
    throw new RuntimeError(`${kind} ${namespace}/${name} exists and does not belong to environment ${env.id}`, 'Conflict');
  }

  private snapshot(names: EnvironmentNames): Snapshot {
    return { statefulSet: this.watch.statefulSet(names.namespace, names.name), pod: this.watch.pod(names.namespace, names.pod) };
  }

  /** One GET of the StatefulSet and one of the pod. */
  private read(names: EnvironmentNames): Promise<Snapshot> {
    return kube(async () => {
      const [statefulSet, pod] = await Promise.all([this.statefulSets.get(names.namespace, names.name), this.pods.get(names.namespace, names.pod)]);
      return { statefulSet, pod };
    });
  }

  private observedOf(snapshot: Snapshot): ObservedState {
    return observedState(snapshot.statefulSet, snapshot.pod);
  }

  /**
   * Resolves when `evaluate` says `done` for the environment's objects, re-evaluated on every
   * watch event about them; rejects with the RuntimeError it returns, `Timeout`, or `Cancelled`
   * (`signal` aborted, or a destroy of the environment).
   *
   * The objects are the watch cache's, which is ordered but may lag this process's own writes
   * (a StatefulSet created a moment ago, a watch reconnecting): an object the cache does not
   * have yet is taken from `fresh` (read after the write), until the watch reports it deleted.
   */
  private waitFor(
    environmentId: string,
    names: EnvironmentNames,
    what: string,
    signal: AbortSignal | undefined,
    fresh: Snapshot,
    evaluate: (snapshot: Snapshot) => 'done' | RuntimeError | undefined,
  ): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      let subscription: Subscription | undefined;
      let timer: NodeJS.Timeout | undefined;
      const fallback: Snapshot = { ...fresh };
      const current = (): Snapshot => {
        const cached = this.snapshot(names);
        return { statefulSet: cached.statefulSet ?? fallback.statefulSet, pod: cached.pod ?? fallback.pod };
      };
      const cancellers = this.waits.get(environmentId) ?? new Set<(error: RuntimeError) => void>();
      this.waits.set(environmentId, cancellers);
      const onAbort = (): void => finish(new RuntimeError(`The ${what} of ${names.namespace}/${names.pod} was cancelled`, 'Cancelled'));
      const finish = (error?: RuntimeError): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        subscription?.unsubscribe();
        signal?.removeEventListener('abort', onAbort);
        cancellers.delete(finish);
        if (cancellers.size === 0 && this.waits.get(environmentId) === cancellers) this.waits.delete(environmentId);
        if (error) reject(error);
        else resolve();
      };
      cancellers.add(finish);
      if (signal?.aborted) {
        onAbort();
        return;
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      const check = (): void => {
        const verdict = evaluate(current());
        if (verdict === 'done') finish();
        else if (verdict) finish(verdict);
      };
      timer = setTimeout(() => {
        const observed = this.observedOf(current());
        finish(
          new RuntimeError(
            `The ${what} of ${names.namespace}/${names.pod} did not complete within ${Math.round(this.podReadyTimeoutMs / 1000)} s (last state: ${observed.state})`,
            'Timeout',
          ),
        );
      }, this.podReadyTimeoutMs);
      subscription = this.watch.events.pipe(filter((event) => concerns(event.object, names))).subscribe({
        next: (event) => {
          if (event.type === 'deleted') {
            if (event.kind === 'StatefulSet') fallback.statefulSet = undefined;
            else fallback.pod = undefined;
          }
          check();
        },
        complete: () => finish(new RuntimeError(`The cluster watch was stopped during the ${what} of ${names.namespace}/${names.pod}`, 'Closed')),
      });
      check();
    });
  }

  private serialize<T>(environmentId: string, task: () => Promise<T>): Promise<T> {
    return this.lifecycle.run(environmentId, task);
  }

}

/** `done` when the pod is Ready; the failure as a RuntimeError; undefined while it may get there. */
function readyOrFailure(snapshot: Snapshot): 'done' | RuntimeError | undefined {
  const observed = observedState(snapshot.statefulSet, snapshot.pod);
  if (observed.state === 'running') return 'done';
  if (observed.state === 'error') return new RuntimeError(observed.message ?? 'The environment failed to start', observed.reason ?? 'RuntimeError');
  if (observed.state === 'absent') return new RuntimeError('The environment was deleted while it was starting', 'NotProvisioned');
  return undefined;
}

/** Whether a watched object is the environment's StatefulSet or pod. */
function concerns(object: KubernetesObject, names: EnvironmentNames): boolean {
  const metadata = object.metadata;
  return metadata?.namespace === names.namespace && (metadata.name === names.name || metadata.name === names.pod);
}

/**
 * The exec command of a terminal, run by `/bin/sh -c` as uid 1000 with HOME set:
 * - `$HOME/.devpocket/bin` (tmux copied by the setup container) comes first on PATH;
 * - with the tmux.conf startup.sh writes (`-f`), that configuration applies; without it (a volume
 *   whose startup.sh has not run yet) tmux starts with its defaults plus the two options a
 *   phone needs, `status off` and `window-size latest`, chained after the command;
 * - read-write: `tmux new-session -A -s devpocket_<id>` (attach, or create then attach);
 * - read-only: the session is created detached when missing, then `attach-session -r`.
 */
export function terminalCommand(environmentId: string, readOnly: boolean): string[] {
  const session = shellQuote(tmuxSessionName(environmentId));
  const target = shellQuote(`=${tmuxSessionName(environmentId)}`);
  const defaults = '\\; set-option -g status off \\; set-option -g window-size latest';
  const lines = ['export PATH="$HOME/.devpocket/bin:$PATH"', 'conf="$HOME/.devpocket/tmux.conf"'];
  if (readOnly) {
    lines.push(
      'if [ -f "$conf" ]; then set -- -f "$conf"; else set --; fi',
      `if ! tmux "$@" has-session -t ${target} 2>/dev/null; then`,
      `  if [ -f "$conf" ]; then tmux "$@" new-session -d -s ${session}; else tmux new-session -d -s ${session} ${defaults}; fi || tmux has-session -t ${target} || exit 1`,
      'fi',
      `exec tmux -u "$@" attach-session -r -t ${target}`,
    );
  } else {
    lines.push(`if [ -f "$conf" ]; then exec tmux -u -f "$conf" new-session -A -s ${session}; fi`, `exec tmux -u new-session -A -s ${session} ${defaults}`);
  }
  return ['/bin/sh', '-c', lines.join('\n')];
}

/** The runtime's TerminalStream over an exec session: the same calls, RuntimeError for a bad size. */
class ExecTerminalStream implements TerminalStream {
  constructor(private readonly session: ExecSession) {}

  onData(listener: (data: string) => void): void {
    this.session.onData(listener);
  }

  onExit(listener: (exit: { exitCode: number; signal?: number }) => void): void {
    this.session.onExit(listener);
  }

  write(data: string): void {
    this.session.write(data);
  }

  resize(cols: number, rows: number): void {
    try {
      this.session.resize(cols, rows);
    } catch (error) {
      if (error instanceof RangeError) throw new RuntimeError(error.message, 'InvalidTerminalSize');
      throw error;
    }
  }

  pause(): void {
    this.session.pause();
  }

  resume(): void {
    this.session.resume();
  }

  close(): void {
    this.session.close();
  }
}

/** Runs Kubernetes calls, turning whatever they throw into a RuntimeError. */
async function kube<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw toRuntimeError(error);
  }
}

/** Builds manifests, turning an InvalidManifestError into RuntimeError `InvalidManifest`. */
function buildOrThrow<T>(build: () => T): T {
  try {
    return build();
  } catch (error) {
    throw toRuntimeError(error);
  }
}

/**
 * A RuntimeError fit for `Environment.lastError`: a KubeApiError keeps its message (action,
 * Status message, reason, HTTP status) and its reason; an unreachable API server is
 * `ClusterUnreachable`; a manifest that fails validation is `InvalidManifest`.
 */
export function toRuntimeError(error: unknown): RuntimeError {
  if (error instanceof RuntimeError) return error;
  if (error instanceof KubeApiError) return new RuntimeError(error.message, error.reason, { cause: error });
  if (error instanceof KubeConnectionError) return new RuntimeError(error.message, 'ClusterUnreachable', { cause: error });
  if (error instanceof InvalidManifestError) return new RuntimeError(error.message, 'InvalidManifest', { cause: error });
  return new RuntimeError(messageOf(error), 'RuntimeError', { cause: error });
}
