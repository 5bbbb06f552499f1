/**
 * A protocol-faithful fake kube-apiserver for tests: the real `@kubernetes/client-node` talks to
 * it over HTTP (REST, watch, logs) and WebSocket (exec, channel protocols v5/v4), and pods run
 * their exec'ed commands for real in a PTY on this machine (so tmux persistence and resizes are
 * exercised). See `server.ts` (paths), `registry.ts` (REST semantics), `watch.ts`,
 * `controllers.ts` (StatefulSet, garbage collector, namespace, PVC), `kubelet.ts` (pod status,
 * logs, sandboxes) and `exec.ts` (channel protocol) for what each part mirrors.
 *
 * ```ts
 * const fake = await startFakeKubeApiServer();
 * const kc = new KubeConfig();
 * kc.loadFromString(fake.kubeconfig());
 * const core = kc.makeApiClient(CoreV1Api);
 * await core.createNamespace({ body: { metadata: { name: 'devpocket-u1' } } });
 * await fake.close();
 * ```
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify as stringifyYaml } from 'yaml';
import { ControllerManager } from './controllers.js';
import { Kubelet } from './kubelet.js';
import { Registry, SYSTEM_NAMESPACES, withTypeMeta } from './registry.js';
import { typeByKind } from './resources.js';
import { ApiServer, FAKE_USER, type RecordedRequest } from './server.js';
import { ObjectStore } from './store.js';
import { WatchHub } from './watch.js';

export { FAKE_USER } from './server.js';
export type { RecordedRequest } from './server.js';

/** A running fake kube-apiserver. */
export interface FakeKubeApiServer {
  /** Base URL, `http://127.0.0.1:<port>`. */
  url: string;
  /**
   * A kubeconfig YAML pointing at this server: cluster `fake` (`insecure-skip-tls-verify: true`,
   * which @kubernetes/client-node requires for a plain-http server), user `fake-admin` with a
   * bearer token, context `fake` (current); `context` renames the context, `token` replaces the
   * token (a token not in {@link tokens} gets 401).
   */
  kubeconfig(options?: { context?: string; token?: string }): string;
  /** An object as stored (with kind/apiVersion): kind such as `'Pod'`, namespace undefined for cluster-scoped kinds. */
  get(kind: string, namespace: string | undefined, name: string): any | undefined;
  /** The stored objects of a kind, optionally in one namespace, sorted by namespace and name. */
  list(kind: string, namespace?: string): any[];
  /**
   * Every request received (the last 10 000), for assertions: method, path (without query),
   * query, verb (`create`, `get`, `list`, `watch`, `patch`, `update`, `delete`,
   * `deletecollection`, `exec`, `log`), resource (plural, with the subresource: `pods/exec`),
   * namespace.
   */
  requests: RecordedRequest[];
  faults: {
    /** The next matching request(s) answer `status` with a real Status body (reason, message). `count` defaults to 1. */
    failNext(match: { method?: string; resource?: string; namespace?: string }, status: number, reason: string, message?: string, count?: number): void;
    /** Every request of this verb and resource answers 403 Forbidden (RBAC message) until cleared. The verb may be the recorded one (`exec`, `log`) or the RBAC one (`create`, `get`). */
    forbid(verb: string, resource: string): void;
    /** Removes every pending `failNext` and `forbid`. */
    clear(): void;
    /** Ends every open watch stream abruptly (socket destroyed): a dropped stream. */
    dropWatches(): void;
    /**
     * Makes every resourceVersion older than now "too old": new watches from an old one get an
     * ERROR event with a 410 `Expired` Status and end; open watches get that event and end.
     */
    expireWatches(): void;
  };
  /** Only bearer tokens in this set are accepted (default: the one in {@link kubeconfig}); others get a 401 Status. */
  tokens: Set<string>;
  /** Appends a line to a container's log (the container "writes" it); `container` defaults to the pod's first. */
  appendLog(namespace: string, pod: string, line: string, container?: string): void;
  /** Problems the fake met that were not the client's fault (a failed tmux kill-server, a controller error). */
  warnings: string[];
  /** Closes the server, watches, log streams and exec sockets, kills every PTY and tmux server it started, removes its temp dirs. */
  close(): Promise<void>;
}

/** Options of {@link startFakeKubeApiServer}. */
export interface FakeKubeApiServerOptions {
  /** Time from a pod's scheduling to its containers running, in milliseconds (default 150). */
  podReadyDelayMs?: number;
  /** The bearer token the kubeconfig carries and the server accepts (default: random). */
  token?: string;
  /** Period of BOOKMARK events on watches that allow them, in milliseconds (default 1000). */
  bookmarkIntervalMs?: number;
  /** Time a deleted pod takes to terminate, in milliseconds (default 50; grace period 0 is immediate). */
  podTerminationDelayMs?: number;
}

/**
 * Starts a fake kube-apiserver on 127.0.0.1 and an ephemeral port, with the namespaces of a fresh
 * cluster (`default`, `kube-system`, `kube-public`, `kube-node-lease`) and the `kubernetes`
 * Service. Pod sandboxes live under a temp dir with a short path (tmux socket paths must stay
 * under 104 bytes).
 */
export async function startFakeKubeApiServer(options: FakeKubeApiServerOptions = {}): Promise<FakeKubeApiServer> {
  const token = options.token ?? randomBytes(16).toString('hex');
  const tokens = new Set([token]);
  const warnings: string[] = [];
  const warn = (message: string) => {
    warnings.push(message);
  };
  const sandboxRoot = await mkdtemp(join(tmpdir(), 'fkas-'));
  const store = new ObjectStore();
  const registry = new Registry(store);
  const watches = new WatchHub(store, { bookmarkIntervalMs: options.bookmarkIntervalMs ?? 1000 });
  const kubelet = new Kubelet(store, { podReadyDelayMs: options.podReadyDelayMs ?? 150, podTerminationDelayMs: options.podTerminationDelayMs ?? 50, sandboxRoot, warn });
  const controllers = new ControllerManager(store, registry, kubelet, { warn });
  controllers.bootstrap(SYSTEM_NAMESPACES);
  const api = new ApiServer({ registry, watches, kubelet, tokens, warn });
  const url = await api.listen();
  let closing: Promise<void> | undefined;

  return {
    url,
    tokens,
    warnings,
    requests: api.requests,
    kubeconfig(kubeconfigOptions = {}) {
      const context = kubeconfigOptions.context ?? 'fake';
      return stringifyYaml({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'fake', cluster: { server: url, 'insecure-skip-tls-verify': true } }],
        users: [{ name: FAKE_USER, user: { token: kubeconfigOptions.token ?? token } }],
        contexts: [{ name: context, context: { cluster: 'fake', user: FAKE_USER, namespace: 'default' } }],
        'current-context': context,
      });
    },
    get(kind, namespace, name) {
      const type = typeByKind(kind);
      const object = type ? store.get(kind, type.namespaced ? namespace : undefined, name) : undefined;
      return type && object ? withTypeMeta(type, object) : undefined;
    },
    list(kind, namespace) {
      const type = typeByKind(kind);
      return type ? store.list(kind, namespace).map((object) => withTypeMeta(type, object)) : [];
    },
    faults: {
      failNext(match, status, reason, message, count = 1) {
        api.faults.push({ match, status, reason, message, remaining: count });
      },
      forbid(verb, resource) {
        api.forbidden.add(`${verb} ${resource}`);
      },
      clear() {
        api.faults.length = 0;
        api.forbidden.clear();
      },
      dropWatches() {
        watches.dropAll();
      },
      expireWatches() {
        store.compact();
        watches.expireAll();
      },
    },
    appendLog(namespace, podName, line, container) {
      const pod = store.get('Pod', namespace, podName);
      if (!pod) throw new Error(`no pod ${namespace}/${podName}`);
      const log = kubelet.containerLog(pod.metadata.uid, container ?? pod.spec.containers[0].name);
      if (!log) throw new Error(`pod ${namespace}/${podName} is not known to the kubelet yet`);
      log.append(line);
    },
    close() {
      closing ??= (async () => {
        watches.close();
        controllers.close();
        await api.close();
        await kubelet.close();
        await rm(sandboxRoot, { recursive: true, force: true });
      })();
      return closing;
    },
  };
}
