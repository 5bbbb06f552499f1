/**
 * A simulated node: scheduler + kubelet for every Pod the store holds. It drives each pod through
 * the status a real kubelet reports (conditions, container and init-container statuses, phase),
 * keeps each container's log, and gives each pod a "sandbox" on this machine in which exec runs
 * real processes:
 *
 * - scheduling: a pod whose PVC does not exist stays `Pending` with `PodScheduled=False`,
 *   reason `Unschedulable` (message as kube-scheduler words it) until the claim appears;
 *   otherwise it is bound to node {@link NODE_NAME} (`spec.nodeName`);
 * - a pod whose non-optional ConfigMap volume does not exist stays `ContainerCreating`;
 * - init containers run first (`Initialized=False`, init status `running`, app containers
 *   `waiting: PodInitializing`), then terminate with exit code 0, reason `Completed`;
 * - after `podReadyDelayMs` the containers run: phase `Running`, `Ready=True`, container
 *   `state.running.startedAt`, `ready: true`, and the log gets `devpocket: startup complete`
 *   (preceded by `devpocket: [i/3] ...` progress lines when a ConfigMap volume is mounted);
 * - an image containing `does-not-exist` stays `Pending` with `waiting: ErrImagePull`, then
 *   `ImagePullBackOff` (containerd's messages); `crashloop` runs, exits 1, then shows
 *   `waiting: CrashLoopBackOff` with `restartCount: 1` and `lastState.terminated`;
 * - a pod with `deletionTimestamp` is stopped (its tmux server killed, its exec streams ended)
 *   and removed after a short grace (`podTerminationDelayMs`, or at once for grace 0).
 *
 * The sandbox of a pod (by namespace and name, so it outlives restarts like a volume) is a home
 * directory and a `TMUX_TMPDIR`, so that tmux inside "the pod" is a tmux server of its own.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ApiStatusError, badRequest } from './status.js';
import { cloneJson, type ChangeEvent, type ObjectStore } from './store.js';

/** The one node of the fake cluster. */
export const NODE_NAME = 'fake-node';
const HOST_IP = '172.18.0.2';

/** Lines a container log keeps (older lines are dropped, like a rotated log file). */
const LOG_LINE_LIMIT = 10_000;

/** A running exec stream the kubelet can end when its container stops. */
export interface ExecSessionHandle {
  /** Ends the process (SIGKILL) and the stream; the client gets the exit status. */
  terminate(): void;
}

/** One line of a container log. */
export interface LogLine {
  time: Date;
  text: string;
}

/** A container's log: bounded lines plus live followers (`follow=true`). */
export class ContainerLog {
  readonly lines: LogLine[] = [];
  private readonly followers = new Set<{ line: (line: LogLine) => void; end: () => void }>();
  ended = false;

  /** Appends a line (the container "writes" it) and hands it to followers. */
  append(text: string): void {
    const line = { time: new Date(), text };
    this.lines.push(line);
    if (this.lines.length > LOG_LINE_LIMIT) this.lines.splice(0, this.lines.length - LOG_LINE_LIMIT);
    for (const follower of [...this.followers]) follower.line(line);
  }

  /** Follows new lines until the container stops; returns the unfollow function. */
  follow(line: (line: LogLine) => void, end: () => void): () => void {
    const follower = { line, end };
    this.followers.add(follower);
    return () => this.followers.delete(follower);
  }

  /** The container stopped: followers' streams end. */
  end(): void {
    this.ended = true;
    for (const follower of [...this.followers]) follower.end();
    this.followers.clear();
  }
}

/** Where a pod's processes live on this machine. */
export interface PodSandbox {
  home: string;
  tmuxTmpDir: string;
}

type Stage = 'unschedulable' | 'creating' | 'initializing' | 'running' | 'image-error' | 'image-backoff' | 'crash-running' | 'crashloop';

/** What the kubelet tracks per pod instance (by uid). */
interface PodRuntime {
  uid: string;
  namespace: string;
  name: string;
  stage: Stage;
  /** `Kind/name` of the missing volume source the pod waits for. */
  blockedOn?: string;
  /** Whether the containers' timeline (pull, init, run) has been scheduled: it is, once. */
  timelineStarted: boolean;
  timers: NodeJS.Timeout[];
  logs: Map<string, ContainerLog>;
  exec: Set<ExecSessionHandle>;
  podIP?: string;
  times: Record<string, string>;
  containerIDs: Map<string, string>;
  terminating: boolean;
}

/** Options of {@link Kubelet}. */
export interface KubeletOptions {
  /** Time from scheduling to running containers, in milliseconds. */
  podReadyDelayMs: number;
  /** Time a deleted pod takes to stop before it is removed, in milliseconds. */
  podTerminationDelayMs: number;
  /** Directory (short: tmux socket paths must stay under 104 bytes) for pod sandboxes. */
  sandboxRoot: string;
  /** Reports a problem that is not the caller's fault (a tmux kill-server that failed). */
  warn(message: string): void;
}

/** RFC 3339 without fractional seconds, as Kubernetes serializes `metav1.Time`. */
export function kubeTime(date = new Date()): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** `docker.io/library/node:20` for `node:20`: how containerd reports an image reference. */
function normalizeImage(image: string): string {
  let ref = image;
  const first = ref.split('/')[0];
  if (!ref.includes('/')) ref = `docker.io/library/${ref}`;
  else if (!first.includes('.') && !first.includes(':') && first !== 'localhost') ref = `docker.io/${ref}`;
  if (!/:[^/]+$/.test(ref) && !ref.includes('@')) ref = `${ref}:latest`;
  return ref;
}

function imageID(image: string): string {
  const repo = normalizeImage(image).replace(/[:@][^/]*$/, '');
  return `${repo}@sha256:${createHash('sha256').update(image).digest('hex')}`;
}

function condition(type: string, status: 'True' | 'False', at: string, reason?: string, message?: string): any {
  const c: any = { type, status, lastProbeTime: null, lastTransitionTime: at };
  if (reason) c.reason = reason;
  if (message) c.message = message;
  return c;
}

/** `Guaranteed`, `Burstable` or `BestEffort` from the containers' requests and limits (simplified). */
export function qosClass(spec: any): string {
  const containers: any[] = [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])];
  const any = containers.some((c) => Object.keys(c.resources?.requests ?? {}).length > 0 || Object.keys(c.resources?.limits ?? {}).length > 0);
  if (!any) return 'BestEffort';
  const guaranteed = containers.every((c) => {
    const limits = c.resources?.limits ?? {};
    const requests = { ...limits, ...(c.resources?.requests ?? {}) };
    return limits.cpu && limits.memory && requests.cpu === limits.cpu && requests.memory === limits.memory;
  });
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

const BAD_IMAGE = 'does-not-exist';
const CRASH_IMAGE = 'crashloop';

/** See the module comment. */
export class Kubelet {
  private readonly pods = new Map<string, PodRuntime>();
  private readonly sandboxes = new Map<string, PodSandbox>();
  private readonly pending = new Set<NodeJS.Immediate>();
  private readonly unsubscribe: () => void;
  private nextSandbox = 0;
  private nextIP = 10;
  private closed = false;

  constructor(
    private readonly store: ObjectStore,
    private readonly options: KubeletOptions,
  ) {
    this.unsubscribe = store.subscribe((event) => this.onChange(event));
  }

  /** The log of a container of a pod instance, created on first use. */
  containerLog(uid: string, container: string): ContainerLog | undefined {
    const runtime = this.pods.get(uid);
    if (!runtime) return undefined;
    let log = runtime.logs.get(container);
    if (!log) runtime.logs.set(container, (log = new ContainerLog()));
    return log;
  }

  /**
   * Resolves the container a log or exec request targets, as the API server does:
   * the only container when none is named, 400 `a container name must be specified for pod x,
   * choose one of: [a b]` otherwise, 400 `container c is not valid for pod x` for an unknown name.
   */
  resolveContainer(pod: any, requested: string | undefined, includeInit: boolean): string {
    const names: string[] = (pod.spec?.containers ?? []).map((c: any) => c.name);
    const initNames: string[] = (pod.spec?.initContainers ?? []).map((c: any) => c.name);
    if (!requested) {
      if (names.length === 1) return names[0];
      let message = `a container name must be specified for pod ${pod.metadata.name}, choose one of: [${names.join(' ')}]`;
      if (includeInit && initNames.length > 0) message += ` or one of the init containers: [${initNames.join(' ')}]`;
      throw new ApiStatusError(badRequest(message));
    }
    if (names.includes(requested) || (includeInit && initNames.includes(requested))) return requested;
    throw new ApiStatusError(badRequest(`container ${requested} is not valid for pod ${pod.metadata.name}`));
  }

  /**
   * Checks that a container can be exec'ed into or read from: 400 `pod x does not have a host
   * assigned` when unscheduled, `container "c" in pod "x" is waiting to start: <reason>` (logs)
   * or `container not found ("c")` (exec, the kubelet's words) when it is not running.
   */
  assertContainerStarted(pod: any, container: string, purpose: 'log' | 'exec'): void {
    const runtime = this.pods.get(pod.metadata.uid);
    if (!pod.spec?.nodeName || !runtime) throw new ApiStatusError(badRequest(`pod ${pod.metadata.name} does not have a host assigned`));
    if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') {
      if (purpose === 'exec') throw new ApiStatusError(badRequest(`cannot exec into a container in a completed pod; current phase is ${pod.status.phase}`));
      return;
    }
    const statuses: any[] = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
    const status = statuses.find((s) => s.name === container);
    const running = Boolean(status?.state?.running);
    if (purpose === 'log') {
      if (status?.state?.waiting && !status.lastState?.terminated && !runtime.logs.get(container)?.lines.length) {
        const reason = status.state.waiting.reason === 'ErrImagePull' || status.state.waiting.reason === 'ImagePullBackOff' ? 'trying and failing to pull image' : status.state.waiting.reason;
        throw new ApiStatusError(badRequest(`container "${container}" in pod "${pod.metadata.name}" is waiting to start: ${reason}`));
      }
      return;
    }
    if (!running || runtime.terminating) throw new ApiStatusError(badRequest(`container not found ("${container}")`));
  }

  /** Registers an exec stream of a pod instance, ended when the container stops; returns the unregister function. */
  trackExec(uid: string, session: ExecSessionHandle): () => void {
    const runtime = this.pods.get(uid);
    if (!runtime) {
      session.terminate();
      return () => undefined;
    }
    runtime.exec.add(session);
    return () => runtime.exec.delete(session);
  }

  /** The sandbox (home and TMUX_TMPDIR) of a pod by namespace and name, created on first use. */
  async sandbox(namespace: string, name: string): Promise<PodSandbox> {
    const key = `${namespace}/${name}`;
    let sandbox = this.sandboxes.get(key);
    if (!sandbox) {
      const dir = join(this.options.sandboxRoot, String(this.nextSandbox++));
      sandbox = { home: join(dir, 'home'), tmuxTmpDir: join(dir, 't') };
      this.sandboxes.set(key, sandbox);
    }
    await mkdir(sandbox.home, { recursive: true });
    await mkdir(sandbox.tmuxTmpDir, { recursive: true, mode: 0o700 });
    return sandbox;
  }

  /** The environment an exec'ed process sees: the container's literal env, then the faked host paths. */
  execEnvironment(pod: any, container: string, sandbox: PodSandbox): Record<string, string> {
    const env: Record<string, string> = {
      KUBERNETES_SERVICE_HOST: '10.96.0.1',
      KUBERNETES_SERVICE_PORT: '443',
      HOSTNAME: pod.metadata.name,
    };
    const spec = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].find((c: any) => c.name === container);
    for (const entry of spec?.env ?? []) if (typeof entry.value === 'string') env[entry.name] = entry.value;
    Object.assign(env, {
      PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
      HOME: sandbox.home,
      TMUX_TMPDIR: sandbox.tmuxTmpDir,
      TERM: 'xterm-256color',
      LANG: 'C.UTF-8',
    });
    delete env.TMUX;
    delete env.TMUX_PANE;
    return env;
  }

  /** Removes the sandboxes of a namespace's pods (the namespace is gone, and its volumes with it). */
  async forgetNamespace(namespace: string): Promise<void> {
    for (const [key, sandbox] of [...this.sandboxes]) {
      if (!key.startsWith(`${namespace}/`)) continue;
      this.sandboxes.delete(key);
      await this.killTmux(sandbox);
      await rm(join(sandbox.home, '..'), { recursive: true, force: true });
    }
  }

  /** Stops every pod: timers, exec streams, log followers, tmux servers. */
  async close(): Promise<void> {
    this.closed = true;
    this.unsubscribe();
    for (const immediate of this.pending) clearImmediate(immediate);
    this.pending.clear();
    for (const runtime of this.pods.values()) this.stopRuntime(runtime);
    this.pods.clear();
    await Promise.all([...this.sandboxes.values()].map((sandbox) => this.killTmux(sandbox)));
  }

  private later(fn: () => void | Promise<void>): void {
    if (this.closed) return;
    const immediate = setImmediate(() => {
      this.pending.delete(immediate);
      if (this.closed) return;
      Promise.resolve()
        .then(fn)
        .catch((error: unknown) => this.options.warn(`kubelet: ${error instanceof Error ? error.stack : String(error)}`));
    });
    this.pending.add(immediate);
  }

  private after(runtime: PodRuntime, ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      runtime.timers = runtime.timers.filter((t) => t !== timer);
      if (!this.closed && this.pods.get(runtime.uid) === runtime && !runtime.terminating) fn();
    }, ms);
    runtime.timers.push(timer);
  }

  private onChange(event: ChangeEvent): void {
    if (event.kind === 'Pod') {
      const uid = event.object.metadata.uid;
      if (event.type === 'ADDED') this.later(() => this.admit(event.object));
      else if (event.type === 'MODIFIED' && event.object.metadata.deletionTimestamp && !event.previous?.metadata?.deletionTimestamp) {
        this.later(() => this.terminate(uid, event.object.metadata.deletionGracePeriodSeconds));
      } else if (event.type === 'DELETED') this.later(() => this.forget(uid));
      return;
    }
    if ((event.kind === 'PersistentVolumeClaim' || event.kind === 'ConfigMap') && event.type !== 'DELETED') {
      for (const runtime of this.pods.values()) {
        if (runtime.namespace === event.namespace && runtime.blockedOn === `${event.kind}/${event.name}`) this.later(() => this.progress(runtime));
      }
    }
  }

  /** A new pod instance: track it and start scheduling. */
  private admit(pod: any): void {
    if (this.pods.has(pod.metadata.uid)) return;
    const runtime: PodRuntime = {
      uid: pod.metadata.uid,
      namespace: pod.metadata.namespace,
      name: pod.metadata.name,
      stage: 'unschedulable',
      timers: [],
      logs: new Map(),
      exec: new Set(),
      times: {},
      containerIDs: new Map(),
      terminating: false,
      timelineStarted: false,
    };
    this.pods.set(runtime.uid, runtime);
    this.progress(runtime);
  }

  /** Schedules the pod and waits for its volumes; once they exist, starts the containers' timeline. */
  private async progress(runtime: PodRuntime): Promise<void> {
    const pod = this.currentPod(runtime);
    if (!pod || runtime.terminating || runtime.timelineStarted) return;
    runtime.blockedOn = undefined;
    const volumes: any[] = pod.spec?.volumes ?? [];
    const missingClaim = volumes.find((v) => v.persistentVolumeClaim && !this.store.get('PersistentVolumeClaim', runtime.namespace, v.persistentVolumeClaim.claimName));
    if (missingClaim) {
      runtime.blockedOn = `PersistentVolumeClaim/${missingClaim.persistentVolumeClaim.claimName}`;
      runtime.times.unschedulable ??= kubeTime();
      this.writeStatus(runtime, 'unschedulable', `0/1 nodes are available: persistentvolumeclaim "${missingClaim.persistentVolumeClaim.claimName}" not found. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.`);
      return;
    }
    if (!runtime.times.scheduled) {
      runtime.times.scheduled = kubeTime();
      const bound = this.currentPod(runtime);
      if (!bound) return;
      // The binding subresource sets the node and the PodScheduled condition in one write.
      bound.spec.nodeName = NODE_NAME;
      bound.status = { ...(bound.status ?? {}), conditions: [condition('PodScheduled', 'True', runtime.times.scheduled)] };
      this.store.update('Pod', bound);
      await this.sandbox(runtime.namespace, runtime.name);
    }
    if (runtime.timelineStarted) return;
    const missingMap = volumes.find((v) => v.configMap && !v.configMap.optional && !this.store.get('ConfigMap', runtime.namespace, v.configMap.name));
    this.writeStatus(runtime, 'creating');
    if (missingMap) {
      runtime.blockedOn = `ConfigMap/${missingMap.configMap.name}`;
      return;
    }
    runtime.timelineStarted = true;
    const delay = this.options.podReadyDelayMs;
    const images: string[] = [...(pod.spec.initContainers ?? []), ...(pod.spec.containers ?? [])].map((c: any) => String(c.image ?? ''));
    if (images.some((image) => image.includes(BAD_IMAGE))) {
      this.after(runtime, delay, () => {
        runtime.times.pulled = kubeTime();
        this.assignIP(runtime);
        this.writeStatus(runtime, 'image-error');
        this.after(runtime, delay, () => this.writeStatus(runtime, 'image-backoff'));
      });
      return;
    }
    const init: any[] = pod.spec.initContainers ?? [];
    if (init.length > 0) {
      this.after(runtime, Math.floor(delay / 2), () => {
        runtime.times.initStarted = kubeTime();
        this.assignIP(runtime);
        this.writeStatus(runtime, 'initializing');
        for (const container of init) this.containerLog(runtime.uid, container.name)?.append(`devpocket: init container ${container.name} started`);
      });
    }
    this.after(runtime, delay, () => this.startContainers(runtime));
  }

  private assignIP(runtime: PodRuntime): void {
    runtime.podIP ??= `10.244.0.${this.nextIP++ % 250 + 2}`;
  }

  private startContainers(runtime: PodRuntime): void {
    const pod = this.currentPod(runtime);
    if (!pod) return;
    this.assignIP(runtime);
    runtime.times.initStarted ??= kubeTime();
    runtime.times.running = kubeTime();
    for (const container of pod.spec.initContainers ?? []) {
      const log = this.containerLog(runtime.uid, container.name);
      log?.append(`devpocket: init container ${container.name} completed`);
      log?.end();
    }
    const crash = (pod.spec.containers ?? []).some((c: any) => String(c.image ?? '').includes(CRASH_IMAGE));
    this.writeStatus(runtime, crash ? 'crash-running' : 'running');
    const hasScript = (pod.spec.volumes ?? []).some((v: any) => v.configMap);
    for (const container of pod.spec.containers ?? []) {
      const log = this.containerLog(runtime.uid, container.name);
      if (crash) {
        log?.append('devpocket: [1/3] preparing the user');
        log?.append('devpocket: startup failed: exit status 1');
        continue;
      }
      if (hasScript) {
        log?.append('devpocket: [1/3] preparing the user');
        log?.append('devpocket: [2/3] ensuring tmux');
        log?.append('devpocket: [3/3] running the template startup commands');
      }
      log?.append('devpocket: startup complete');
    }
    if (crash) {
      this.after(runtime, this.options.podReadyDelayMs, () => {
        runtime.times.crashed = kubeTime();
        this.writeStatus(runtime, 'crashloop');
        for (const container of pod.spec.containers ?? []) this.containerLog(runtime.uid, container.name)?.end();
        void this.stopProcesses(runtime);
      });
    }
  }

  /** The pod was marked for deletion: stop its processes, then remove it after the grace period. */
  private async terminate(uid: string, gracePeriodSeconds: number | undefined): Promise<void> {
    const runtime = this.pods.get(uid);
    if (!runtime || runtime.terminating) return;
    runtime.terminating = true;
    for (const timer of runtime.timers) clearTimeout(timer);
    runtime.timers = [];
    for (const log of runtime.logs.values()) log.end();
    await this.stopProcesses(runtime);
    const delay = gracePeriodSeconds === 0 ? 0 : Math.min(this.options.podTerminationDelayMs, (gracePeriodSeconds ?? 30) * 1000);
    const timer = setTimeout(() => {
      if (this.closed) return;
      const pod = this.store.get('Pod', runtime.namespace, runtime.name);
      if (pod && pod.metadata.uid === uid && (pod.metadata.finalizers ?? []).length === 0) this.store.remove('Pod', runtime.namespace, runtime.name);
    }, delay);
    runtime.timers.push(timer);
  }

  private forget(uid: string): void {
    const runtime = this.pods.get(uid);
    if (!runtime) return;
    this.stopRuntime(runtime);
    this.pods.delete(uid);
    // A pod recreated under the same name (a StatefulSet restart) shares the sandbox: leave its tmux alone.
    const successor = [...this.pods.values()].some((other) => other.namespace === runtime.namespace && other.name === runtime.name);
    if (!successor) void this.stopProcesses(runtime);
  }

  private stopRuntime(runtime: PodRuntime): void {
    for (const timer of runtime.timers) clearTimeout(timer);
    runtime.timers = [];
    for (const log of runtime.logs.values()) log.end();
    for (const session of [...runtime.exec]) session.terminate();
    runtime.exec.clear();
  }

  /** Kills the pod's tmux server (its shells die with the container), then any exec still running. */
  private async stopProcesses(runtime: PodRuntime): Promise<void> {
    const sandbox = this.sandboxes.get(`${runtime.namespace}/${runtime.name}`);
    if (sandbox) await this.killTmux(sandbox);
    for (const session of [...runtime.exec]) session.terminate();
    runtime.exec.clear();
  }

  /** `tmux kill-server` on the sandbox's default socket; "no server running" is the expected quiet case. */
  private killTmux(sandbox: PodSandbox): Promise<void> {
    return new Promise((resolve) => {
      execFile('tmux', ['kill-server'], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', TMUX_TMPDIR: sandbox.tmuxTmpDir }, timeout: 5000 }, (error, _stdout, stderr) => {
        if (error && !/no server running|error connecting to|No such file or directory/i.test(String(stderr))) {
          this.options.warn(`tmux kill-server in ${sandbox.tmuxTmpDir} failed: ${String(stderr).trim() || error.message}`);
        }
        resolve();
      });
    });
  }

  private currentPod(runtime: PodRuntime): any | undefined {
    const pod = this.store.get('Pod', runtime.namespace, runtime.name);
    return pod && pod.metadata.uid === runtime.uid ? pod : undefined;
  }

  private writeStatus(runtime: PodRuntime, stage: Stage, message?: string): void {
    const pod = this.currentPod(runtime);
    if (!pod || runtime.terminating) return;
    runtime.stage = stage;
    pod.status = this.statusFor(pod, runtime, stage, message);
    this.store.update('Pod', pod);
  }

  private containerID(runtime: PodRuntime, name: string, generation = 0): string {
    const key = `${name}#${generation}`;
    let id = runtime.containerIDs.get(key);
    if (!id) runtime.containerIDs.set(key, (id = `containerd://${randomBytes(32).toString('hex')}`));
    return id;
  }

  /** The `PodStatus` a kubelet reports at `stage` (see the module comment). */
  private statusFor(pod: any, runtime: PodRuntime, stage: Stage, message?: string): any {
    const t = runtime.times;
    const qos = qosClass(pod.spec);
    if (stage === 'unschedulable') {
      return { phase: 'Pending', conditions: [condition('PodScheduled', 'False', t.unschedulable, 'Unschedulable', message)], qosClass: qos };
    }
    const init: any[] = pod.spec.initContainers ?? [];
    const containers: any[] = pod.spec.containers ?? [];
    const started = stage === 'running' || stage === 'crash-running' || stage === 'crashloop';
    const pulling = stage === 'image-error' || stage === 'image-backoff';
    const badInit = init.some((c) => String(c.image).includes(BAD_IMAGE));
    const initCompleted = started || (pulling && !badInit);
    const pullReason = stage === 'image-error' ? 'ErrImagePull' : 'ImagePullBackOff';
    const pullMessage = (image: string) =>
      stage === 'image-error'
        ? `rpc error: code = NotFound desc = failed to pull and unpack image "${normalizeImage(image)}": failed to resolve reference "${normalizeImage(image)}": ${normalizeImage(image)}: not found`
        : `Back-off pulling image "${image}"`;
    const base = (c: any, generation = 0) => ({ image: normalizeImage(c.image), imageID: '', name: c.name, ready: false, restartCount: generation, started: false });
    const waiting = (c: any, reason: string, msg?: string) => ({ ...base(c), lastState: {}, state: { waiting: msg ? { reason, message: msg } : { reason } } });
    const runningState = (c: any, ready: boolean) => ({
      ...base(c),
      containerID: this.containerID(runtime, c.name),
      imageID: imageID(c.image),
      lastState: {},
      ready,
      started: true,
      state: { running: { startedAt: t.running } },
    });

    const initStatuses = init.map((c, i) => {
      if (initCompleted) {
        const finishedAt = t.running ?? t.pulled;
        return { ...base(c), containerID: this.containerID(runtime, c.name), imageID: imageID(c.image), lastState: {}, ready: true, started: false, state: { terminated: { containerID: this.containerID(runtime, c.name), exitCode: 0, finishedAt, reason: 'Completed', startedAt: t.initStarted ?? finishedAt } } };
      }
      if (pulling && String(c.image).includes(BAD_IMAGE)) return waiting(c, pullReason, pullMessage(c.image));
      if (stage === 'initializing' && i === 0) return { ...base(c), containerID: this.containerID(runtime, c.name), imageID: imageID(c.image), lastState: {}, started: true, state: { running: { startedAt: t.initStarted } } };
      return waiting(c, 'PodInitializing');
    });
    const initBlocking = init.length > 0 && !initCompleted;
    const appStatuses = containers.map((c) => {
      if (stage === 'crashloop') {
        return {
          ...base(c, 1),
          containerID: this.containerID(runtime, c.name),
          imageID: imageID(c.image),
          lastState: { terminated: { containerID: this.containerID(runtime, c.name), exitCode: 1, finishedAt: t.crashed, reason: 'Error', startedAt: t.running } },
          state: { waiting: { reason: 'CrashLoopBackOff', message: `back-off 10s restarting failed container=${c.name} pod=${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})` } },
        };
      }
      if (stage === 'running') return runningState(c, true);
      if (stage === 'crash-running') return runningState(c, false);
      if (pulling && String(c.image).includes(BAD_IMAGE) && !initBlocking) return waiting(c, pullReason, pullMessage(c.image));
      return waiting(c, initBlocking ? 'PodInitializing' : 'ContainerCreating');
    });

    const ready = stage === 'running';
    const notReady = appStatuses.filter((s) => !s.ready).map((s) => s.name);
    const notReadyMessage = `containers with unready status: [${notReady.join(' ')}]`;
    const sandboxReady = stage !== 'creating';
    const initialized = init.length === 0 || initCompleted;
    const initMessage = `containers with incomplete status: [${init.map((c) => c.name).join(' ')}]`;
    const conditions = [
      condition('PodReadyToStartContainers', sandboxReady ? 'True' : 'False', t.initStarted ?? t.pulled ?? t.running ?? t.scheduled),
      initialized ? condition('Initialized', 'True', t.running ?? t.pulled ?? t.scheduled) : condition('Initialized', 'False', t.scheduled, 'ContainersNotInitialized', initMessage),
      ready ? condition('Ready', 'True', t.running) : condition('Ready', 'False', t.crashed ?? t.scheduled, 'ContainersNotReady', notReadyMessage),
      ready ? condition('ContainersReady', 'True', t.running) : condition('ContainersReady', 'False', t.crashed ?? t.scheduled, 'ContainersNotReady', notReadyMessage),
      condition('PodScheduled', 'True', t.scheduled),
    ];
    const status: any = {
      phase: started ? 'Running' : 'Pending',
      conditions,
      hostIP: HOST_IP,
      hostIPs: [{ ip: HOST_IP }],
      startTime: t.scheduled,
      qosClass: qos,
    };
    if (sandboxReady && runtime.podIP) {
      status.podIP = runtime.podIP;
      status.podIPs = [{ ip: runtime.podIP }];
    }
    if (initStatuses.length > 0) status.initContainerStatuses = initStatuses;
    status.containerStatuses = appStatuses;
    return cloneJson(status);
  }
}
