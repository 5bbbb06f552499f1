import { ListWatch, Watch, type KubeConfig, type KubernetesListObject, type KubernetesObject, type V1Pod, type V1StatefulSet } from '@kubernetes/client-node';
import { Observable, Subject } from 'rxjs';
import { KubeApiError, translateKubeError } from './errors.js';
import { MANAGED_SELECTOR } from './labels.js';
import type { PodClient } from './pod-client.js';
import type { RbacRule } from './rbac.js';
import type { StatefulSetClient } from './stateful-set-client.js';

/** One change seen by the cluster watch. `object` is the object as the API server sent it (for `deleted`, its last state). */
export type ClusterWatchEvent =
  | { kind: 'Pod'; type: 'added' | 'updated' | 'deleted'; object: V1Pod }
  | { kind: 'StatefulSet'; type: 'added' | 'updated' | 'deleted'; object: V1StatefulSet };

/** Where the watch reports restarts and failures; `console` fits, and so does a Nest `Logger`. */
export interface ClusterWatchLogger {
  log(message: string): void;
  warn(message: string): void;
}

/** Options of {@link ClusterWatch}. */
export interface ClusterWatchOptions {
  /** Label selector of both informers; default `app.kubernetes.io/managed-by=devpocket-server`. */
  labelSelector?: string;
  /**
   * A watch that delivers no event and no bookmark for this long, in milliseconds, is taken for
   * a silent (half-open) stream and restarted from its last resourceVersion. Default 60 000.
   */
  staleAfterMs?: number;
  /** First delay before restarting a failed watch, in milliseconds, doubled up to {@link maxRestartDelayMs}. Default 1 000. */
  restartDelayMs?: number;
  /** Longest delay between restarts of a failing watch, in milliseconds. Default 30 000. */
  maxRestartDelayMs?: number;
  logger?: ClusterWatchLogger;
}

/**
 * One informer per cluster over the pods and the StatefulSets DevPocket manages, in every
 * namespace (`GET /api/v1/pods?labelSelector=…&watch=true&allowWatchBookmarks=true`, and
 * `/apis/apps/v1/statefulsets` likewise), built on client-node's `ListWatch` (what
 * `makeInformer` returns), following "Efficient detection of changes" in the Kubernetes API
 * concepts (https://kubernetes.io/docs/reference/using-api/api-concepts/#efficient-detection-of-changes).
 *
 * What client-node does and what is added here:
 * - 410 Gone / Expired (a resourceVersion too old, a compacted etcd): client-node re-lists and
 *   resumes watching by itself; objects that vanished meanwhile are reported as `deleted`.
 * - A stream the server closes: client-node reconnects from the last resourceVersion.
 * - Any other failure (a dropped connection, a 403, a refused list): client-node reports it and
 *   stops; it is restarted here after 1 s, 2 s, 4 s … up to 30 s, reset by the next event.
 * - A silent stream: after {@link ClusterWatchOptions.staleAfterMs} without an event or a
 *   bookmark the request is aborted and the watch restarted (client-node 2.0.1 also aborts a
 *   watch after 30 s without a byte, and resumes from the last resourceVersion).
 *
 * {@link events} is hot: subscribers see changes from the moment they subscribe; the current
 * state is in the cache ({@link pod}, {@link statefulSet}) once {@link ready} resolved.
 */
export class ClusterWatch {
  /** The RBAC the watch needs besides the lists of PodClient and StatefulSetClient. */
  static readonly rbac: readonly RbacRule[] = [
    { apiGroup: '', resource: 'pods', verbs: ['list', 'watch'] },
    { apiGroup: 'apps', resource: 'statefulsets', verbs: ['list', 'watch'] },
  ];

  private readonly subject = new Subject<ClusterWatchEvent>();
  private readonly pods: ResourceInformer<V1Pod>;
  private readonly statefulSets: ResourceInformer<V1StatefulSet>;
  private readonly waiters: Array<{ resolve: () => void; reject: (error: Error) => void }> = [];
  private started = false;
  private stopped = false;

  /** Every change, as it arrives (hot; completes on {@link stop}). */
  readonly events: Observable<ClusterWatchEvent> = this.subject.asObservable();

  constructor(kubeConfig: KubeConfig, clients: { pods: PodClient; statefulSets: StatefulSetClient }, options: ClusterWatchOptions = {}) {
    const labelSelector = options.labelSelector ?? MANAGED_SELECTOR;
    const settings: InformerSettings = {
      labelSelector,
      staleAfterMs: options.staleAfterMs ?? 60_000,
      restartDelayMs: options.restartDelayMs ?? 1_000,
      maxRestartDelayMs: options.maxRestartDelayMs ?? 30_000,
      logger: options.logger,
      onSynced: () => this.checkSynced(),
      onFatal: (error) => this.rejectWaiters(error),
    };
    this.pods = new ResourceInformer<V1Pod>(kubeConfig, 'Pod', '/api/v1/pods', () => clients.pods.listAllNamespaces(labelSelector), settings, (type, object) =>
      this.subject.next({ kind: 'Pod', type, object }),
    );
    this.statefulSets = new ResourceInformer<V1StatefulSet>(
      kubeConfig,
      'StatefulSet',
      '/apis/apps/v1/statefulsets',
      () => clients.statefulSets.listAllNamespaces(labelSelector),
      settings,
      (type, object) => this.subject.next({ kind: 'StatefulSet', type, object }),
    );
  }

  /** Starts both informers (list, then watch). Idempotent; a no-op after {@link stop}. */
  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    this.pods.start();
    this.statefulSets.start();
  }

  /** Aborts both watches and every pending restart, and completes {@link events}. Idempotent. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await Promise.all([this.pods.stop(), this.statefulSets.stop()]);
    this.rejectWaiters(new Error('The cluster watch was stopped'));
    this.subject.complete();
  }

  /** Whether both informers have listed at least once (the cache reflects the cluster). */
  get synced(): boolean {
    return this.pods.synced && this.statefulSets.synced;
  }

  /**
   * Starts the watch if needed and resolves once both informers have listed.
   * @throws KubeApiError when a first list is refused with 401 Unauthorized or 403 Forbidden
   *   (the watch keeps retrying: a later call may succeed once RBAC is fixed); Error after {@link stop}.
   */
  ready(): Promise<void> {
    if (this.stopped) return Promise.reject(new Error('The cluster watch was stopped'));
    this.start();
    if (this.synced) return Promise.resolve();
    return new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** The cached pod, undefined when absent (or not listed yet). */
  pod(namespace: string, name: string): V1Pod | undefined {
    return this.pods.get(namespace, name);
  }

  /** The cached StatefulSet, undefined when absent (or not listed yet). */
  statefulSet(namespace: string, name: string): V1StatefulSet | undefined {
    return this.statefulSets.get(namespace, name);
  }

  private checkSynced(): void {
    if (!this.synced) return;
    for (const waiter of this.waiters.splice(0)) waiter.resolve();
  }

  private rejectWaiters(error: Error): void {
    for (const waiter of this.waiters.splice(0)) waiter.reject(error);
  }
}

interface InformerSettings {
  labelSelector: string;
  staleAfterMs: number;
  restartDelayMs: number;
  maxRestartDelayMs: number;
  logger?: ClusterWatchLogger;
  onSynced(): void;
  onFatal(error: Error): void;
}

/**
 * client-node's Watch, noting when a watch request starts (the ListWatch calls it right after a
 * list has been applied to its cache) and every line it delivers, bookmarks included, which
 * client-node's ListWatch does not report.
 */
class ObservedWatch extends Watch {
  /** The AbortController of the watch request in flight. */
  current?: AbortController;

  constructor(
    kubeConfig: KubeConfig,
    private readonly onWatching: () => void,
    private readonly onActivity: () => void,
  ) {
    super(kubeConfig);
  }

  override async watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, apiObj: unknown, watchObj?: unknown) => void,
    done: (err: unknown) => void,
  ): Promise<AbortController> {
    this.onWatching();
    const controller = await super.watch(
      path,
      queryParams,
      (phase, apiObj, watchObj) => {
        this.onActivity();
        callback(phase, apiObj, watchObj);
      },
      (err: unknown) => {
        if (this.current === controller) this.current = undefined;
        done(err);
      },
    );
    if (!controller.signal.aborted) this.current = controller;
    return controller;
  }
}

/** One ListWatch with its restarts and staleness guard. */
class ResourceInformer<T extends KubernetesObject> {
  synced = false;

  private readonly watch: ObservedWatch;
  private readonly listWatch: ListWatch<T>;
  private lastActivity = Date.now();
  private failures = 0;
  private abortedAsStale = false;
  private stopped = false;
  private restartTimer?: NodeJS.Timeout;
  private staleTimer?: NodeJS.Timeout;

  constructor(
    kubeConfig: KubeConfig,
    private readonly kind: string,
    path: string,
    list: () => Promise<KubernetesListObject<T>>,
    private readonly settings: InformerSettings,
    emit: (type: 'added' | 'updated' | 'deleted', object: T) => void,
  ) {
    this.watch = new ObservedWatch(
      kubeConfig,
      () => this.watching(),
      () => this.active(),
    );
    // allowWatchBookmarks rides on the path: client-node's ListWatch sets only resourceVersion and the selectors.
    this.listWatch = new ListWatch<T>(`${path}?allowWatchBookmarks=true`, this.watch, list, false, settings.labelSelector);
    this.listWatch.on('add', (object) => {
      this.active();
      emit('added', object);
    });
    this.listWatch.on('update', (object) => {
      this.active();
      emit('updated', object);
    });
    this.listWatch.on('delete', (object) => {
      this.active();
      emit('deleted', object);
    });
    this.listWatch.on('error', (error) => this.failed(error));
  }

  start(): void {
    const period = Math.max(100, Math.min(this.settings.staleAfterMs / 4, 5_000));
    this.staleTimer = setInterval(() => this.checkStale(), period);
    this.staleTimer.unref();
    this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    clearInterval(this.staleTimer);
    await this.listWatch.stop();
  }

  get(namespace: string, name: string): T | undefined {
    return this.listWatch.get(name, namespace);
  }

  private run(): void {
    if (this.stopped) return;
    this.lastActivity = Date.now();
    this.listWatch.start().catch((error: unknown) => this.failed(error));
  }

  private watching(): void {
    this.lastActivity = Date.now();
    this.abortedAsStale = false;
    if (!this.synced) {
      this.synced = true;
      this.settings.onSynced();
    }
  }

  private active(): void {
    this.lastActivity = Date.now();
    this.failures = 0;
  }

  private failed(error: unknown): void {
    if (this.stopped) return;
    if (this.abortedAsStale) {
      this.abortedAsStale = false;
      this.settings.logger?.log(`${this.kind} watch restarted after ${this.settings.staleAfterMs} ms without an event`);
      this.schedule(0);
      return;
    }
    const translated = translateKubeError(error, `watch ${this.kind}s (${this.settings.labelSelector})`);
    this.failures += 1;
    const delay = Math.min(this.settings.restartDelayMs * 2 ** (this.failures - 1), this.settings.maxRestartDelayMs);
    this.settings.logger?.warn(`${translated.message}; restarting in ${delay} ms`);
    if (!this.synced && translated instanceof KubeApiError && (translated.status === 401 || translated.status === 403)) {
      this.settings.onFatal(translated);
    }
    this.schedule(delay);
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => this.run(), delayMs);
  }

  private checkStale(): void {
    if (this.stopped || !this.watch.current) return;
    if (Date.now() - this.lastActivity < this.settings.staleAfterMs) return;
    this.abortedAsStale = true;
    this.lastActivity = Date.now();
    this.watch.current.abort();
  }
}
