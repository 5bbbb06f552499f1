import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  ApiException,
  AppsV1Api,
  CoreV1Api,
  Exec,
  KubeConfig,
  KubernetesObjectApi,
  Log,
  makeInformer,
  PatchStrategy,
  setHeaderOptions,
  VersionApi,
  Watch,
  type V1Pod,
  type V1StatefulSet,
  type V1Status,
} from '@kubernetes/client-node';
import WebSocket from 'ws';
import { visibleText } from '../support/terminal-clients.js';
import { startFakeKubeApiServer, type FakeKubeApiServer } from './index.js';

const TOKEN = 'fake-test-token';

/** Polls `check` every 20 ms until it returns a value other than undefined/false; fails after `timeoutMs`. */
async function waitFor<T>(check: () => T | undefined | false | Promise<T | undefined | false>, describeWait: string, timeoutMs = 8000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${describeWait}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The Status body of a failed client-node call, with its HTTP code. */
async function statusOf(call: Promise<unknown>): Promise<{ code: number; body: any }> {
  try {
    await call;
  } catch (error) {
    if (!(error instanceof ApiException)) throw error;
    return { code: error.code, body: typeof error.body === 'string' && error.body ? JSON.parse(error.body) : error.body };
  }
  throw new Error('the call succeeded');
}

/** Whether a read answers 404 (false while the object still exists). */
async function isGone(read: () => Promise<unknown>): Promise<boolean> {
  try {
    await read();
    return false;
  } catch (error) {
    if (error instanceof ApiException && error.code === 404) return true;
    throw error;
  }
}

function statefulSet(name: string, image = 'devpocket/base:1', extra: { initContainers?: any[]; volumes?: any[]; mounts?: any[] } = {}): V1StatefulSet {
  return {
    metadata: { name, labels: { app: name } },
    spec: {
      replicas: 1,
      serviceName: name,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name, 'devpocket.io/environment': name } },
        spec: {
          initContainers: extra.initContainers,
          containers: [{ name: 'main', image, env: [{ name: 'DEVPOCKET_ENV', value: name }], volumeMounts: extra.mounts }],
          volumes: extra.volumes,
        },
      },
    },
  };
}

/** A stdout stream that looks like a TTY to client-node's Exec (columns/rows + 'resize'). */
class TerminalOutput extends PassThrough {
  columns = 100;
  rows = 30;
  text = '';
  constructor() {
    super();
    this.on('data', (chunk: Buffer) => (this.text += chunk.toString('utf8')));
  }
  resizeTo(columns: number, rows: number): void {
    this.columns = columns;
    this.rows = rows;
    this.emit('resize');
  }
  visible(): string {
    return visibleText(this.text);
  }
}

describe('fake kube-apiserver with the real @kubernetes/client-node', () => {
  let fake: FakeKubeApiServer;
  let kc: KubeConfig;
  let core: CoreV1Api;
  let apps: AppsV1Api;

  async function namespace(name: string): Promise<string> {
    await core.createNamespace({ body: { metadata: { name } } });
    return name;
  }

  async function runningPod(ns: string, name: string): Promise<V1Pod> {
    return waitFor(async () => {
      const pod = await core.readNamespacedPod({ name, namespace: ns }).catch((error: unknown) => {
        if (error instanceof ApiException && error.code === 404) return undefined;
        throw error;
      });
      return pod?.status?.phase === 'Running' && pod.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? pod : undefined;
    }, `pod ${ns}/${name} Running and Ready`);
  }

  beforeAll(async () => {
    fake = await startFakeKubeApiServer({ token: TOKEN, podReadyDelayMs: 100, bookmarkIntervalMs: 250 });
    kc = new KubeConfig();
    kc.loadFromString(fake.kubeconfig());
    core = kc.makeApiClient(CoreV1Api);
    apps = kc.makeApiClient(AppsV1Api);
  });

  afterAll(async () => {
    await fake?.close();
    expect(fake.warnings).toEqual([]);
  });

  describe('discovery and authentication', () => {
    it('serves /version and the kubeconfig works with a renamed context', async () => {
      const other = new KubeConfig();
      other.loadFromString(fake.kubeconfig({ context: 'elsewhere' }));
      expect(other.getCurrentContext()).toBe('elsewhere');
      const version = await other.makeApiClient(VersionApi).getCode();
      expect(version).toMatchObject({ major: '1', minor: '31', gitVersion: 'v1.31.0-fake', platform: 'linux/amd64' });
    });

    it('answers 401 with an Unauthorized Status for a wrong token', async () => {
      const wrong = new KubeConfig();
      wrong.loadFromString(fake.kubeconfig({ token: 'not-the-token' }));
      const failure = await statusOf(wrong.makeApiClient(CoreV1Api).listNamespace());
      expect(failure.code).toBe(401);
      const raw = await fetch(`${fake.url}/api/v1/namespaces`, { headers: { Authorization: 'Bearer not-the-token' } });
      expect(raw.status).toBe(401);
      expect(await raw.json()).toEqual({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 });
      expect((await fetch(`${fake.url}/api/v1/namespaces`)).status).toBe(401);
    });

    it('starts with the namespaces of a fresh cluster', async () => {
      const names = (await core.listNamespace()).items.map((ns) => ns.metadata?.name);
      expect(names).toEqual(expect.arrayContaining(['default', 'kube-system', 'kube-public', 'kube-node-lease']));
    });
  });

  describe('namespaces', () => {
    it('creates, gets, lists and deletes a namespace', async () => {
      const created = await core.createNamespace({ body: { metadata: { name: 'devpocket-crud' } } });
      expect(created.metadata).toMatchObject({ name: 'devpocket-crud', uid: expect.any(String), resourceVersion: expect.stringMatching(/^[0-9]+$/), labels: { 'kubernetes.io/metadata.name': 'devpocket-crud' } });
      expect(created.status?.phase).toBe('Active');
      const read = await core.readNamespace({ name: 'devpocket-crud' });
      expect(read.metadata?.uid).toBe(created.metadata?.uid);
      const list = await core.listNamespace({ labelSelector: 'kubernetes.io/metadata.name=devpocket-crud' });
      expect(list.items.map((ns) => ns.metadata?.name)).toEqual(['devpocket-crud']);
      expect(Number(list.metadata?.resourceVersion)).toBeGreaterThanOrEqual(Number(created.metadata?.resourceVersion));

      const deleted = await core.deleteNamespace({ name: 'devpocket-crud' });
      expect(deleted).toMatchObject({ status: { phase: 'Terminating' } });
      await waitFor(() => isGone(() => core.readNamespace({ name: 'devpocket-crud' })), 'the namespace to go');
      expect(fake.requests.filter((r) => r.resource === 'namespaces').map((r) => r.verb)).toEqual(expect.arrayContaining(['create', 'get', 'list', 'delete']));
    });

    it('answers 409 AlreadyExists on a second create and 404 NotFound for a missing one', async () => {
      await namespace('devpocket-twice');
      const again = await statusOf(core.createNamespace({ body: { metadata: { name: 'devpocket-twice' } } }));
      expect(again.code).toBe(409);
      expect(again.body).toEqual({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'namespaces "devpocket-twice" already exists', reason: 'AlreadyExists', details: { name: 'devpocket-twice', kind: 'namespaces' }, code: 409 });
      const missing = await statusOf(core.readNamespace({ name: 'devpocket-nope' }));
      expect(missing).toEqual({ code: 404, body: expect.objectContaining({ reason: 'NotFound', message: 'namespaces "devpocket-nope" not found', details: { name: 'devpocket-nope', kind: 'namespaces' } }) });
      const inMissing = await statusOf(core.createNamespacedConfigMap({ namespace: 'devpocket-nope', body: { metadata: { name: 'x' } } }));
      expect(inMissing.body).toMatchObject({ code: 404, reason: 'NotFound', message: 'namespaces "devpocket-nope" not found' });
    });

    it('answers 422 Invalid with causes for a name that is not a DNS-1123 label, and for no name', async () => {
      const bad = await statusOf(core.createNamespace({ body: { metadata: { name: 'Bad_Name' } } }));
      expect(bad.code).toBe(422);
      expect(bad.body).toMatchObject({ reason: 'Invalid', code: 422, details: { name: 'Bad_Name', kind: 'Namespace' } });
      expect(bad.body.message).toMatch(/^Namespace "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 label must consist of/);
      expect(bad.body.details.causes).toEqual([{ reason: 'FieldValueInvalid', message: expect.stringContaining('Invalid value: "Bad_Name"'), field: 'metadata.name' }]);
      const long = await statusOf(core.createNamespace({ body: { metadata: { name: 'a'.repeat(64) } } }));
      expect(long.body.details.causes[0]).toMatchObject({ field: 'metadata.name', message: expect.stringContaining('must be no more than 63 characters') });
      const noName = await statusOf(core.createNamespace({ body: { metadata: {} } }));
      expect(noName.body.details.causes).toEqual([{ reason: 'FieldValueRequired', message: 'Required value: name or generateName is required', field: 'metadata.name' }]);
      const dottedService = await statusOf(core.createNamespacedService({ namespace: 'default', body: { metadata: { name: 'a.b' }, spec: { ports: [{ port: 80 }] } } }));
      expect(dottedService.body.details.causes[0].message).toContain('a DNS-1035 label');
      const podName = 'ok.dotted-name';
      const pod = await core.createNamespacedPod({ namespace: 'default', body: { metadata: { name: podName }, spec: { containers: [{ name: 'c', image: 'busybox:1' }] } } });
      expect(pod.metadata?.name).toBe(podName);
      await core.deleteNamespacedPod({ name: podName, namespace: 'default', gracePeriodSeconds: 0 });
    });

    it('answers 403 Forbidden with the RBAC message after forbid(), until cleared', async () => {
      await namespace('devpocket-rbac');
      fake.faults.forbid('create', 'configmaps');
      const denied = await statusOf(core.createNamespacedConfigMap({ namespace: 'devpocket-rbac', body: { metadata: { name: 'script' } } }));
      expect(denied).toEqual({
        code: 403,
        body: {
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Failure',
          message: 'configmaps is forbidden: User "fake-admin" cannot create resource "configmaps" in API group "" in the namespace "devpocket-rbac"',
          reason: 'Forbidden',
          details: { kind: 'configmaps' },
          code: 403,
        },
      });
      fake.faults.forbid('get', 'statefulsets');
      const denied2 = await statusOf(apps.readNamespacedStatefulSet({ name: 'x', namespace: 'devpocket-rbac' }));
      expect(denied2.body.message).toBe('statefulsets.apps "x" is forbidden: User "fake-admin" cannot get resource "statefulsets" in API group "apps" in the namespace "devpocket-rbac"');
      fake.faults.clear();
      await core.createNamespacedConfigMap({ namespace: 'devpocket-rbac', body: { metadata: { name: 'script' } } });
    });

    it('injects failures with failNext (count, Retry-After) and forbids creating in a terminating namespace', async () => {
      await namespace('devpocket-faults');
      fake.faults.failNext({ method: 'POST', resource: 'configmaps', namespace: 'devpocket-faults' }, 503, 'ServiceUnavailable', undefined, 2);
      for (let i = 0; i < 2; i++) {
        const failed = await statusOf(core.createNamespacedConfigMap({ namespace: 'devpocket-faults', body: { metadata: { name: 'cm' } } }));
        expect(failed.body).toMatchObject({ code: 503, reason: 'ServiceUnavailable', message: 'the server is currently unable to handle the request', details: { retryAfterSeconds: 1 } });
      }
      await core.createNamespacedConfigMap({ namespace: 'devpocket-faults', body: { metadata: { name: 'cm' } } });

      await core.createNamespacedPod({ namespace: 'devpocket-faults', body: { metadata: { name: 'holder' }, spec: { containers: [{ name: 'c', image: 'busybox:1' }] } } });
      await runningPod('devpocket-faults', 'holder');
      await core.deleteNamespace({ name: 'devpocket-faults' });
      const refused = await statusOf(core.createNamespacedConfigMap({ namespace: 'devpocket-faults', body: { metadata: { name: 'late' } } }));
      expect(refused.body).toMatchObject({
        code: 403,
        reason: 'Forbidden',
        message: 'configmaps "late" is forbidden: unable to create new content in namespace devpocket-faults because it is being terminated',
        details: { causes: [{ reason: 'NamespaceTerminating', field: 'metadata.namespace' }] },
      });
      const again = await statusOf(core.deleteNamespace({ name: 'devpocket-faults' }));
      expect(again.code).toBe(409);
      await waitFor(() => isGone(() => core.readNamespace({ name: 'devpocket-faults' })), 'the namespace to be purged');
      expect(fake.list('Pod', 'devpocket-faults')).toEqual([]);
    });
  });

  describe('ConfigMaps, Services, PVCs and patches', () => {
    const ns = 'devpocket-objects';
    beforeAll(() => namespace(ns));

    it('patches with JSON patch by default, and with merge and strategic merge patch on request', async () => {
      await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'startup', labels: { app: 'a' } }, data: { 'startup.sh': 'echo 1' } } });
      const jsonPatched = await core.patchNamespacedConfigMap({ name: 'startup', namespace: ns, body: [{ op: 'replace', path: '/data/startup.sh', value: 'echo 2' }, { op: 'add', path: '/metadata/labels/tier', value: 'x' }] });
      expect(jsonPatched.data).toEqual({ 'startup.sh': 'echo 2' });
      expect(fake.requests.at(-1)).toMatchObject({ method: 'PATCH', verb: 'patch', resource: 'configmaps', namespace: ns });

      const merged = await core.patchNamespacedConfigMap({ name: 'startup', namespace: ns, body: { metadata: { labels: { tier: null } }, data: { extra: 'y' } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
      expect(merged.metadata?.labels).toEqual({ app: 'a' });
      expect(merged.data).toEqual({ 'startup.sh': 'echo 2', extra: 'y' });

      const failed = await statusOf(core.patchNamespacedConfigMap({ name: 'startup', namespace: ns, body: [{ op: 'remove', path: '/data/missing' }] }));
      expect(failed.body).toMatchObject({ code: 422, reason: 'Invalid', details: { causes: [{ reason: 'UnexpectedServerResponse' }] } });

      const stale = await statusOf(core.replaceNamespacedConfigMap({ name: 'startup', namespace: ns, body: { metadata: { name: 'startup', resourceVersion: '1' }, data: {} } }));
      expect(stale.body).toMatchObject({ code: 409, reason: 'Conflict', message: 'Operation cannot be fulfilled on configmaps "startup": the object has been modified; please apply your changes to the latest version and try again' });
      const cmDelete = await core.deleteNamespacedConfigMap({ name: 'startup', namespace: ns });
      expect(cmDelete).toMatchObject({ kind: 'Status', status: 'Success', details: { name: 'startup', kind: 'configmaps' } });
    });

    it('allocates a Service clusterIP, binds a PVC and lists with label selectors', async () => {
      const svc = await core.createNamespacedService({ namespace: ns, body: { metadata: { name: 'env-1', labels: { env: 'one' } }, spec: { selector: { app: 'env-1' }, ports: [{ name: 'http', port: 3000 }] } } });
      expect(svc.spec).toMatchObject({ type: 'ClusterIP', clusterIP: expect.stringMatching(/^10\.96\./), ports: [{ name: 'http', port: 3000, protocol: 'TCP', targetPort: 3000 }] });
      await core.createNamespacedService({ namespace: ns, body: { metadata: { name: 'env-2', labels: { env: 'two' } }, spec: { ports: [{ port: 80 }] } } });
      expect((await core.listNamespacedService({ namespace: ns, labelSelector: 'env=one' })).items.map((s) => s.metadata?.name)).toEqual(['env-1']);
      expect((await core.listNamespacedService({ namespace: ns, labelSelector: 'env' })).items).toHaveLength(2);
      expect((await core.listNamespacedService({ namespace: ns, labelSelector: 'env in (two,three)' })).items.map((s) => s.metadata?.name)).toEqual(['env-2']);

      await core.createNamespacedPersistentVolumeClaim({ namespace: ns, body: { metadata: { name: 'home-env-1' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '5Gi' } } } } });
      const bound = await waitFor(async () => {
        const pvc = await core.readNamespacedPersistentVolumeClaim({ name: 'home-env-1', namespace: ns });
        return pvc.status?.phase === 'Bound' ? pvc : undefined;
      }, 'the PVC to bind');
      expect(bound.status?.capacity).toEqual({ storage: '5Gi' });
      expect(bound.spec?.storageClassName).toBe('standard');
      expect(bound.metadata?.finalizers).toEqual(['kubernetes.io/pvc-protection']);
      const invalidPvc = await statusOf(core.createNamespacedPersistentVolumeClaim({ namespace: ns, body: { metadata: { name: 'no-size' }, spec: { accessModes: ['ReadWriteOnce'] } } }));
      expect(invalidPvc.body.details.causes).toEqual([{ reason: 'FieldValueRequired', message: 'Required value', field: 'spec.resources[storage]' }]);
      await core.deleteNamespacedPersistentVolumeClaim({ name: 'home-env-1', namespace: ns });
      await waitFor(() => isGone(() => core.readNamespacedPersistentVolumeClaim({ name: 'home-env-1', namespace: ns })), 'the PVC to go');
    });
  });

  describe('StatefulSets and their pods', () => {
    const ns = 'devpocket-sts';
    beforeAll(() => namespace(ns));

    it('creates pod <sts>-0 that becomes Running, scales to 0 and back, and recreates a deleted pod', async () => {
      const created = await apps.createNamespacedStatefulSet({ namespace: ns, body: statefulSet('env-a') });
      expect(created.metadata?.generation).toBe(1);
      const pod = await runningPod(ns, 'env-a-0');
      expect(pod.metadata?.labels).toMatchObject({ app: 'env-a', 'statefulset.kubernetes.io/pod-name': 'env-a-0', 'controller-revision-hash': expect.stringMatching(/^env-a-/) });
      expect(pod.metadata?.ownerReferences).toEqual([expect.objectContaining({ kind: 'StatefulSet', name: 'env-a', uid: created.metadata?.uid, controller: true })]);
      expect(pod.status?.containerStatuses).toEqual([expect.objectContaining({ name: 'main', ready: true, state: { running: { startedAt: expect.any(Date) } } })]);
      await waitFor(async () => (await apps.readNamespacedStatefulSet({ name: 'env-a', namespace: ns })).status?.readyReplicas === 1, 'readyReplicas 1');
      expect((await apps.listStatefulSetForAllNamespaces()).items.map((s) => `${s.metadata?.namespace}/${s.metadata?.name}`)).toContain(`${ns}/env-a`);
      expect((await core.listPodForAllNamespaces({ labelSelector: 'app=env-a' })).items.map((p) => p.metadata?.name)).toEqual(['env-a-0']);

      const scaled = await apps.patchNamespacedStatefulSetScale({ name: 'env-a', namespace: ns, body: [{ op: 'replace', path: '/spec/replicas', value: 0 }] });
      expect(scaled.spec?.replicas).toBe(0);
      await waitFor(() => isGone(() => core.readNamespacedPod({ name: 'env-a-0', namespace: ns })), 'the pod to go');
      await waitFor(async () => (await apps.readNamespacedStatefulSet({ name: 'env-a', namespace: ns })).status?.replicas === 0, 'status.replicas 0');

      await apps.patchNamespacedStatefulSet({ name: 'env-a', namespace: ns, body: { spec: { replicas: 1 } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
      const back = await runningPod(ns, 'env-a-0');
      await core.deleteNamespacedPod({ name: 'env-a-0', namespace: ns });
      const restarted = await waitFor(async () => {
        const next = await runningPod(ns, 'env-a-0');
        return next.metadata?.uid !== back.metadata?.uid ? next : undefined;
      }, 'a new pod instance');
      expect(restarted.metadata?.name).toBe('env-a-0');

      const badScale = await statusOf(apps.replaceNamespacedStatefulSetScale({ name: 'env-a', namespace: ns, body: { metadata: { name: 'env-a' }, spec: { replicas: -1 } } }));
      expect(badScale.body).toMatchObject({ code: 422, details: { kind: 'Scale', group: 'autoscaling' } });
      const immutable = await statusOf(apps.patchNamespacedStatefulSet({ name: 'env-a', namespace: ns, body: { spec: { serviceName: 'other' } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch)));
      expect(immutable.body.details.causes[0]).toMatchObject({ reason: 'FieldValueForbidden', field: 'spec' });

      const removed = await apps.deleteNamespacedStatefulSet({ name: 'env-a', namespace: ns, propagationPolicy: 'Background' });
      expect(removed).toMatchObject({ kind: 'Status', status: 'Success', details: { name: 'env-a', group: 'apps', kind: 'statefulsets' } });
      await waitFor(() => fake.list('Pod', ns).length === 0, 'the garbage collector to delete the pod');
    });

    it('reports ErrImagePull then ImagePullBackOff for an image that does not exist, and CrashLoopBackOff', async () => {
      await apps.createNamespacedStatefulSet({ namespace: ns, body: statefulSet('env-pull', 'registry.example/does-not-exist:1') });
      const reasons = new Set<string>();
      await waitFor(async () => {
        const pod = await core.readNamespacedPod({ name: 'env-pull-0', namespace: ns }).catch(() => undefined);
        const waiting = pod?.status?.containerStatuses?.[0]?.state?.waiting;
        if (waiting?.reason) reasons.add(waiting.reason);
        expect(pod?.status?.phase ?? 'Pending').toBe('Pending');
        if (waiting?.reason === 'ErrImagePull') expect(waiting.message).toContain('registry.example/does-not-exist:1');
        return reasons.has('ImagePullBackOff') ? true : undefined;
      }, 'ImagePullBackOff');
      expect([...reasons]).toEqual(expect.arrayContaining(['ContainerCreating', 'ErrImagePull', 'ImagePullBackOff']));

      await apps.createNamespacedStatefulSet({ namespace: ns, body: statefulSet('env-crash', 'devpocket/crashloop:1') });
      const crashed = await waitFor(async () => {
        const pod = await core.readNamespacedPod({ name: 'env-crash-0', namespace: ns }).catch(() => undefined);
        return pod?.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'CrashLoopBackOff' ? pod : undefined;
      }, 'CrashLoopBackOff');
      expect(crashed.status?.containerStatuses?.[0]).toMatchObject({ restartCount: 1, ready: false, lastState: { terminated: { exitCode: 1, reason: 'Error' } } });
    });

    it('reports init containers before the app container runs', async () => {
      const phases: string[] = [];
      await apps.createNamespacedStatefulSet({
        namespace: ns,
        body: statefulSet('env-init', 'devpocket/base:1', {
          initContainers: [{ name: 'setup', image: 'busybox:1', command: ['sh', '/startup/startup.sh'], volumeMounts: [{ name: 'startup', mountPath: '/startup' }] }],
          volumes: [{ name: 'startup', configMap: { name: 'env-init-startup' } }],
        }),
      });
      const waitingForMap = await waitFor(async () => {
        const pod = await core.readNamespacedPod({ name: 'env-init-0', namespace: ns }).catch(() => undefined);
        return pod?.status?.initContainerStatuses ? pod : undefined;
      }, 'the kubelet to report the pod');
      expect(waitingForMap.spec?.nodeName).toBe('fake-node');
      expect(waitingForMap.status?.initContainerStatuses?.[0]?.state?.waiting?.reason).toBe('PodInitializing');
      await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'env-init-startup' }, data: { 'startup.sh': 'true' } } });
      const running = await waitFor(async () => {
        const pod = await core.readNamespacedPod({ name: 'env-init-0', namespace: ns });
        const initialized = pod.status?.conditions?.find((c) => c.type === 'Initialized')?.status;
        const init = pod.status?.initContainerStatuses?.[0]?.state;
        phases.push(`${pod.status?.phase}/${initialized}/${init?.running ? 'init-running' : init?.terminated ? 'init-done' : 'init-waiting'}`);
        return pod.status?.phase === 'Running' ? pod : undefined;
      }, 'the pod to run');
      expect(phases).toContain('Pending/False/init-running');
      expect(running.status?.initContainerStatuses?.[0]?.state?.terminated).toMatchObject({ exitCode: 0, reason: 'Completed' });
    });
  });

  describe('generic object API, pagination, deletion policies', () => {
    const ns = 'devpocket-generic';
    beforeAll(() => namespace(ns));

    it('resolves kinds through discovery and strategic-merges containers by name', async () => {
      const objects = KubernetesObjectApi.makeApiClient(kc);
      const sts = statefulSet('env-g');
      await objects.create({ apiVersion: 'apps/v1', kind: 'StatefulSet', ...sts, metadata: { ...sts.metadata, namespace: ns } });
      const patched = await objects.patch({
        apiVersion: 'apps/v1',
        kind: 'StatefulSet',
        metadata: { name: 'env-g', namespace: ns },
        spec: { template: { spec: { containers: [{ name: 'main', resources: { limits: { cpu: '1', memory: '1Gi' } } }] } } },
      } as any);
      const main = (patched as V1StatefulSet).spec?.template.spec?.containers[0];
      expect(main).toMatchObject({ name: 'main', image: 'devpocket/base:1', resources: { limits: { cpu: '1', memory: '1Gi' } } });
      expect((patched as V1StatefulSet).metadata?.generation).toBe(2);
      expect(fake.requests.some((r) => r.path === '/apis/apps/v1' && r.verb === 'get')).toBe(true);

      const applied = await objects.patch({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'applied', namespace: ns }, data: { k: 'v' } } as any, undefined, undefined, 'devpocket', true, PatchStrategy.ServerSideApply);
      expect(applied).toMatchObject({ kind: 'ConfigMap', metadata: { name: 'applied' }, data: { k: 'v' } });
    });

    it('paginates lists with limit/continue and deletes collections by label', async () => {
      for (const name of ['page-a', 'page-b', 'page-c']) await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name, labels: { page: 'yes' } } } });
      const first = await core.listNamespacedConfigMap({ namespace: ns, labelSelector: 'page=yes', limit: 2 });
      expect(first.items.map((cm) => cm.metadata?.name)).toEqual(['page-a', 'page-b']);
      expect(first.metadata?.remainingItemCount).toBe(1);
      const rest = await core.listNamespacedConfigMap({ namespace: ns, labelSelector: 'page=yes', limit: 2, _continue: first.metadata?._continue });
      expect(rest.items.map((cm) => cm.metadata?.name)).toEqual(['page-c']);
      expect(rest.metadata?._continue).toBeUndefined();
      const deleted = await core.deleteCollectionNamespacedConfigMap({ namespace: ns, labelSelector: 'page=yes' });
      expect(deleted).toMatchObject({ kind: 'ConfigMapList' });
      expect((await core.listNamespacedConfigMap({ namespace: ns, labelSelector: 'page' })).items).toEqual([]);
      expect(fake.list('ConfigMap', ns).map((cm) => cm.metadata.name)).toContain('kube-root-ca.crt');
    });

    it('deletes a pod gracefully, holds an owner with foregroundDeletion, releases dependents with Orphan', async () => {
      await apps.createNamespacedStatefulSet({ namespace: ns, body: statefulSet('env-fg') });
      await runningPod(ns, 'env-fg-0');
      const terminating = await core.deleteNamespacedPod({ name: 'env-fg-0', namespace: ns });
      expect(terminating.metadata).toMatchObject({ deletionTimestamp: expect.any(Date), deletionGracePeriodSeconds: 30 });
      await runningPod(ns, 'env-fg-0');

      // The answer is the StatefulSet (client-node's generated delete types it as a V1Status, keeping only `kind`).
      const held = await apps.deleteNamespacedStatefulSet({ name: 'env-fg', namespace: ns, propagationPolicy: 'Foreground' });
      expect(held.kind).toBe('StatefulSet');
      expect(fake.get('StatefulSet', ns, 'env-fg')?.metadata).toMatchObject({ finalizers: ['foregroundDeletion'], deletionTimestamp: expect.any(String) });
      await waitFor(() => fake.get('StatefulSet', ns, 'env-fg') === undefined, 'the owner to go after its pods');
      expect(fake.get('Pod', ns, 'env-fg-0')).toBeUndefined();

      await apps.createNamespacedStatefulSet({ namespace: ns, body: statefulSet('env-or') });
      await runningPod(ns, 'env-or-0');
      await apps.deleteNamespacedStatefulSet({ name: 'env-or', namespace: ns, propagationPolicy: 'Orphan' });
      await waitFor(() => fake.get('StatefulSet', ns, 'env-or') === undefined, 'the orphaning owner to go');
      expect(fake.get('Pod', ns, 'env-or-0')?.metadata.ownerReferences).toBeUndefined();
      await core.deleteNamespacedPod({ name: 'env-or-0', namespace: ns, gracePeriodSeconds: 0 });
    });

    it('keeps a pod Unschedulable until its PVC exists, and creates PVCs from volumeClaimTemplates', async () => {
      await apps.createNamespacedStatefulSet({
        namespace: ns,
        body: statefulSet('env-pvc', 'devpocket/base:1', { volumes: [{ name: 'home', persistentVolumeClaim: { claimName: 'home-env-pvc' } }], mounts: [{ name: 'home', mountPath: '/home/dev' }] }),
      });
      const blocked = await waitFor(() => {
        const pod = fake.get('Pod', ns, 'env-pvc-0');
        return pod?.status?.conditions?.[0]?.reason === 'Unschedulable' ? pod : undefined;
      }, 'the pod to be unschedulable');
      expect(blocked.status.conditions[0]).toMatchObject({ type: 'PodScheduled', status: 'False', message: expect.stringContaining('persistentvolumeclaim "home-env-pvc" not found') });
      await core.createNamespacedPersistentVolumeClaim({ namespace: ns, body: { metadata: { name: 'home-env-pvc' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } } });
      await runningPod(ns, 'env-pvc-0');
      await core.deleteNamespacedPersistentVolumeClaim({ name: 'home-env-pvc', namespace: ns });
      await new Promise((r) => setTimeout(r, 100));
      expect(fake.get('PersistentVolumeClaim', ns, 'home-env-pvc')?.metadata.deletionTimestamp).toBeDefined();

      const templated = statefulSet('env-vct');
      templated.spec!.volumeClaimTemplates = [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '2Gi' } } } }];
      templated.spec!.template.spec!.containers[0].volumeMounts = [{ name: 'data', mountPath: '/data' }];
      await apps.createNamespacedStatefulSet({ namespace: ns, body: templated });
      const pod = await runningPod(ns, 'env-vct-0');
      expect(pod.spec?.volumes).toEqual(expect.arrayContaining([{ name: 'data', persistentVolumeClaim: { claimName: 'data-env-vct-0' } }]));
      expect(fake.get('PersistentVolumeClaim', ns, 'data-env-vct-0')?.status.phase).toBe('Bound');
    });
  });

  describe('watch', () => {
    const ns = 'devpocket-watch';
    beforeAll(() => namespace(ns));

    it('streams ADDED, MODIFIED, DELETED and BOOKMARK events, with headers flushed before any event', async () => {
      const list = await core.listNamespacedConfigMap({ namespace: ns });
      const events: Array<{ type: string; object: any }> = [];
      let ended: unknown = 'open';
      const started = Date.now();
      const controller = await new Watch(kc).watch(`/api/v1/namespaces/${ns}/configmaps`, { allowWatchBookmarks: true, resourceVersion: list.metadata?.resourceVersion }, (type, object) => events.push({ type, object }), (error) => (ended = error));
      expect(Date.now() - started).toBeLessThan(1000);
      expect(events).toEqual([]);

      await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'watched' }, data: { a: '1' } } });
      await core.patchNamespacedConfigMap({ name: 'watched', namespace: ns, body: { data: { a: '2' } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
      await core.deleteNamespacedConfigMap({ name: 'watched', namespace: ns });
      await waitFor(() => events.some((e) => e.type === 'DELETED') && events.some((e) => e.type === 'BOOKMARK'), 'DELETED and BOOKMARK events');
      const changes = events.filter((e) => e.type !== 'BOOKMARK');
      expect(changes.map((e) => e.type)).toEqual(['ADDED', 'MODIFIED', 'DELETED']);
      expect(changes[0].object).toMatchObject({ kind: 'ConfigMap', apiVersion: 'v1', metadata: { name: 'watched' } });
      expect(Number(changes[2].object.metadata.resourceVersion)).toBeGreaterThan(Number(changes[1].object.metadata.resourceVersion));
      const bookmark = events.find((e) => e.type === 'BOOKMARK');
      expect(bookmark?.object).toEqual({ kind: 'ConfigMap', apiVersion: 'v1', metadata: { resourceVersion: expect.stringMatching(/^[0-9]+$/) } });
      expect(ended).toBe('open');
      controller.abort();
    });

    it('replays from a resourceVersion, ends after timeoutSeconds, and answers 410 Expired for a compacted one', async () => {
      const before = (await core.listNamespacedConfigMap({ namespace: ns })).metadata?.resourceVersion as string;
      await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'replayed', labels: { pick: 'yes' } } } });
      await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'ignored' } } });
      const replayed: string[] = [];
      const done = new Promise<unknown>((resolve) => {
        void new Watch(kc).watch(`/api/v1/namespaces/${ns}/configmaps`, { resourceVersion: before, labelSelector: 'pick=yes', timeoutSeconds: 1 }, (type, object) => replayed.push(`${type} ${object.metadata.name}`), resolve);
      });
      expect(await done).toBeNull();
      expect(replayed).toEqual(['ADDED replayed']);

      fake.faults.expireWatches();
      const errors: any[] = [];
      const expiredDone = new Promise<unknown>((resolve) => {
        void new Watch(kc).watch(`/api/v1/namespaces/${ns}/configmaps`, { resourceVersion: before }, (type, object) => type === 'ERROR' && errors.push(object), resolve);
      });
      expect(await expiredDone).toBeNull();
      expect(errors).toEqual([{ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: expect.stringMatching(/^too old resource version: \d+ \(\d+\)$/), reason: 'Expired', code: 410 }]);
    });
  });

  describe('informer', () => {
    const ns = 'devpocket-informer';
    beforeAll(() => namespace(ns));

    it('sees add/update/delete, relists after 410, and is restarted by hand after a dropped stream', async () => {
      const informer = makeInformer(kc, `/api/v1/namespaces/${ns}/pods`, () => core.listNamespacedPod({ namespace: ns }));
      const seen: string[] = [];
      const errors: unknown[] = [];
      informer.on('add', (pod) => seen.push(`add ${pod.metadata?.name}`));
      informer.on('update', (pod) => seen.push(`update ${pod.metadata?.name} ${pod.status?.phase}`));
      informer.on('delete', (pod) => seen.push(`delete ${pod.metadata?.name}`));
      informer.on('error', (error) => errors.push(error));
      await informer.start();
      try {
        await apps.createNamespacedStatefulSet({ namespace: ns, body: statefulSet('env-i') });
        await waitFor(() => seen.includes('update env-i-0 Running'), 'the informer to see the pod running');
        expect(seen[0]).toBe('add env-i-0');

        const listsBefore = fake.requests.filter((r) => r.verb === 'list' && r.resource === 'pods' && r.namespace === ns).length;
        fake.faults.expireWatches();
        await waitFor(() => fake.requests.filter((r) => r.verb === 'list' && r.resource === 'pods' && r.namespace === ns).length > listsBefore, 'a relist after 410');
        await core.patchNamespacedPod({ name: 'env-i-0', namespace: ns, body: { metadata: { labels: { touched: 'after-410' } } } }, setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch));
        await waitFor(() => informer.get('env-i-0', ns)?.metadata?.labels?.touched === 'after-410', 'the informer to keep working after 410');
        expect(errors).toEqual([]);

        // A dropped stream: client-node's ListWatch reports it on 'error' and does not reconnect by itself.
        fake.faults.dropWatches();
        await waitFor(() => errors.length > 0, 'the informer error event');
        const watchesBefore = fake.requests.filter((r) => r.verb === 'watch' && r.namespace === ns).length;
        await new Promise((r) => setTimeout(r, 300));
        expect(fake.requests.filter((r) => r.verb === 'watch' && r.namespace === ns).length).toBe(watchesBefore);
        await informer.start();
        await apps.patchNamespacedStatefulSetScale({ name: 'env-i', namespace: ns, body: [{ op: 'replace', path: '/spec/replicas', value: 0 }] });
        await waitFor(() => seen.includes('delete env-i-0'), 'the informer to see the delete after a restart');
      } finally {
        await informer.stop();
      }
    });
  });

  describe('pod logs', () => {
    const ns = 'devpocket-logs';
    beforeAll(() => namespace(ns));

    it('returns text with tailLines and timestamps, and follows new lines', async () => {
      await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'env-l-startup' }, data: { 'startup.sh': 'true' } } });
      await apps.createNamespacedStatefulSet({ namespace: ns, body: statefulSet('env-l', 'devpocket/base:1', { volumes: [{ name: 'startup', configMap: { name: 'env-l-startup' } }], mounts: [{ name: 'startup', mountPath: '/startup' }] }) });
      await runningPod(ns, 'env-l-0');
      const text = await core.readNamespacedPodLog({ name: 'env-l-0', namespace: ns, container: 'main' });
      expect(text.split('\n')).toEqual(expect.arrayContaining(['devpocket: [1/3] preparing the user', 'devpocket: startup complete']));
      expect(text.split('\n').filter((line) => line === 'devpocket: startup complete')).toHaveLength(1);
      const tail = await core.readNamespacedPodLog({ name: 'env-l-0', namespace: ns, tailLines: 1, timestamps: true });
      expect(tail).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z devpocket: startup complete\n$/);

      const out = new PassThrough();
      let received = '';
      let ended = false;
      out.on('data', (chunk: Buffer) => (received += chunk.toString('utf8')));
      out.on('end', () => (ended = true));
      // Not aborted by the test: client-node 2.0.1's Log pipes the response without an error
      // listener, so controller.abort() surfaces as an uncaught AbortError. The stream ends
      // when the container stops, as the kubelet ends a followed log.
      await new Log(kc).log(ns, 'env-l-0', 'main', out, { follow: true, tailLines: 10 });
      await waitFor(() => received.includes('devpocket: startup complete'), 'the existing lines');
      fake.appendLog(ns, 'env-l-0', 'devpocket: a later line');
      await waitFor(() => received.includes('devpocket: a later line\n'), 'a followed line');
      expect(ended).toBe(false);
      await apps.patchNamespacedStatefulSetScale({ name: 'env-l', namespace: ns, body: [{ op: 'replace', path: '/spec/replicas', value: 0 }] });
      await waitFor(() => ended, 'the followed log to end with the container');

      const pending = await statusOf(core.readNamespacedPodLog({ name: 'nope', namespace: ns }));
      expect(pending.code).toBe(404);
    });
  });

  describe('exec', () => {
    const ns = 'devpocket-exec';
    beforeAll(async () => {
      await namespace(ns);
      await apps.createNamespacedStatefulSet({ namespace: ns, body: statefulSet('env-x') });
      await runningPod(ns, 'env-x-0');
    });

    /** Opens `tmux new-session -A -s <session>` through client-node's Exec with a TTY. */
    async function tmuxTerminal(session: string): Promise<{ out: TerminalOutput; input: PassThrough; ws: WebSocket; statuses: V1Status[] }> {
      const out = new TerminalOutput();
      const input = new PassThrough();
      const statuses: V1Status[] = [];
      const ws = (await new Exec(kc).exec(ns, 'env-x-0', 'main', ['tmux', 'new-session', '-A', '-s', session], out, null, input, true, (status) => statuses.push(status))) as unknown as WebSocket;
      return { out, input, ws, statuses };
    }

    it('runs tmux in a PTY over v5: typing, resize, and a second attach that keeps the shell', async () => {
      const first = await tmuxTerminal('t1');
      expect(first.ws.protocol).toBe('v5.channel.k8s.io');
      await waitFor(() => first.out.text.length > 0, 'tmux to draw');
      first.input.write('echo MARK_$((6*7))\r');
      await waitFor(() => first.out.visible().includes('MARK_42'), 'MARK_42');
      first.input.write('echo SIZE_$(stty size | tr " " x)\r');
      await waitFor(() => first.out.visible().includes('SIZE_29x100'), 'the initial size (30 rows minus the tmux status line)');
      first.out.resizeTo(120, 40);
      await new Promise((r) => setTimeout(r, 200));
      first.input.write('echo SIZE_$(stty size | tr " " x)\r');
      await waitFor(() => first.out.visible().includes('SIZE_39x120'), 'the resized size');
      first.input.write('export DP_SECRET=kept_$((1+1)); echo $HOME > home_path\r');
      await waitFor(() => first.out.visible().includes('export DP_SECRET'), 'the export to be typed');
      await new Promise((r) => setTimeout(r, 200));
      first.ws.close();

      const second = await tmuxTerminal('t1');
      second.input.write('echo VAL_$DP_SECRET HOST_$HOSTNAME ENV_$DEVPOCKET_ENV\r');
      await waitFor(() => second.out.visible().includes('VAL_kept_2 HOST_env-x-0 ENV_env-x'), 'the shell state of the first attach');
      second.input.write('tmux detach-client\r');
      await waitFor(() => second.statuses.length > 0, 'the exec status after detaching');
      expect(second.statuses[0]).toEqual({ metadata: {}, status: 'Success' });
    });

    it('kills the tmux server when the pod restarts, keeping its home', async () => {
      const before = await tmuxTerminal('t2');
      before.input.write('export GONE=still_here; touch marker_file\r');
      await new Promise((r) => setTimeout(r, 300));
      await core.deleteNamespacedPod({ name: 'env-x-0', namespace: ns });
      await waitFor(() => before.statuses.length > 0 || before.ws.readyState === WebSocket.CLOSED, 'the exec to end with the pod');
      await waitFor(async () => {
        const pod = await runningPod(ns, 'env-x-0');
        return pod.metadata?.deletionTimestamp ? undefined : pod;
      }, 'the restarted pod');
      const after = await tmuxTerminal('t2');
      after.input.write('echo GONE_[$GONE] FILE_$(ls marker_file)\r');
      await waitFor(() => after.out.visible().includes('GONE_[] FILE_marker_file'), 'a fresh shell with the old home');
      after.ws.close();
    });

    it('runs a command without a TTY: stdout, stderr and a NonZeroExitCode status', async () => {
      const stdout = new PassThrough();
      const stderr = new PassThrough();
      let out = '';
      let err = '';
      stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
      const status = await new Promise<V1Status>((resolve, reject) => {
        new Exec(kc).exec(ns, 'env-x-0', 'main', ['sh', '-c', 'echo out:$((1+2)); echo err >&2; exit 3'], stdout, stderr, null, false, resolve).catch(reject);
      });
      expect(out).toBe('out:3\n');
      expect(err).toBe('err\n');
      expect(status).toEqual({
        metadata: {},
        status: 'Failure',
        message: 'command terminated with non-zero exit code: error executing command [sh -c echo out:$((1+2)); echo err >&2; exit 3], exit code 3',
        reason: 'NonZeroExitCode',
        details: { causes: [{ reason: 'ExitCode', message: '3' }] },
      });
    });

    it('speaks v4 with a raw ws client, and v5 stream close, and refuses bad requests', async () => {
      const base = `${fake.url.replace('http', 'ws')}/api/v1/namespaces/${ns}/pods/env-x-0/exec`;
      const headers = { Authorization: `Bearer ${TOKEN}` };
      const frames = (ws: WebSocket) => {
        const received: Buffer[] = [];
        ws.on('message', (data) => received.push(data as Buffer));
        return received;
      };
      const v4 = new WebSocket(`${base}?command=sh&command=-c&command=read%20line%3B%20echo%20got%3A%24line&stdin=true&stdout=true&stderr=true`, ['v4.channel.k8s.io'], { headers });
      const v4Frames = frames(v4);
      await new Promise((resolve) => v4.once('open', resolve));
      expect(v4.protocol).toBe('v4.channel.k8s.io');
      v4.send(Buffer.concat([Buffer.from([0]), Buffer.from('hello\n')]));
      await new Promise((resolve) => v4.once('close', resolve));
      expect(v4Frames[0]).toEqual(Buffer.from([1]));
      expect(Buffer.concat(v4Frames.filter((f) => f[0] === 1).map((f) => f.subarray(1))).toString()).toBe('got:hello\n');
      expect(JSON.parse(v4Frames.find((f) => f[0] === 3)!.subarray(1).toString())).toEqual({ metadata: {}, status: 'Success' });

      const v5 = new WebSocket(`${base}?command=cat&stdin=true&stdout=true`, ['v5.channel.k8s.io', 'v4.channel.k8s.io'], { headers });
      const v5Frames = frames(v5);
      await new Promise((resolve) => v5.once('open', resolve));
      expect(v5.protocol).toBe('v5.channel.k8s.io');
      v5.send(Buffer.concat([Buffer.from([0]), Buffer.from('echoed')]));
      v5.send(Buffer.from([255, 0]));
      await new Promise((resolve) => v5.once('close', resolve));
      expect(Buffer.concat(v5Frames.filter((f) => f[0] === 1).map((f) => f.subarray(1))).toString()).toBe('echoed');

      const refusal = (url: string, protocols: string[]) =>
        new Promise<{ status: number; body: any }>((resolve, reject) => {
          const ws = new WebSocket(url, protocols, { headers });
          ws.on('unexpected-response', (_req, res) => {
            let text = '';
            res.on('data', (chunk: Buffer) => (text += chunk.toString()));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
          });
          ws.on('open', () => reject(new Error('the upgrade was accepted')));
          ws.on('error', () => undefined);
        });
      expect(await refusal(`${base}?command=sh&stdout=true`, ['v3.channel.k8s.io'])).toMatchObject({ status: 400, body: { reason: 'BadRequest' } });
      expect(await refusal(`${fake.url.replace('http', 'ws')}/api/v1/namespaces/${ns}/pods/missing-0/exec?command=sh&stdout=true`, ['v5.channel.k8s.io'])).toMatchObject({ status: 404, body: { message: 'pods "missing-0" not found' } });
      expect(await refusal(`${base}?command=nope&stdout=true&container=other`, ['v5.channel.k8s.io'])).toMatchObject({ status: 400, body: { message: 'container other is not valid for pod env-x-0' } });
      fake.faults.forbid('create', 'pods/exec');
      expect(await refusal(`${base}?command=sh&stdout=true`, ['v5.channel.k8s.io'])).toMatchObject({ status: 403, body: { message: 'pods "env-x-0" is forbidden: User "fake-admin" cannot create resource "pods/exec" in API group "" in the namespace "devpocket-exec"' } });
      fake.faults.clear();
      expect(fake.requests.filter((r) => r.verb === 'exec').every((r) => r.resource === 'pods/exec' && r.namespace === ns)).toBe(true);
    });

    it('refuses exec into a pod that is not running', async () => {
      await apps.createNamespacedStatefulSet({ namespace: ns, body: statefulSet('env-stuck', 'x/does-not-exist:1') });
      await waitFor(() => fake.get('Pod', ns, 'env-stuck-0')?.spec?.nodeName, 'the stuck pod to be scheduled');
      const error = await new Exec(kc).exec(ns, 'env-stuck-0', 'main', ['sh'], null, null, null, false).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(String((error as Error)?.message ?? error)).toMatch(/400/);
    });
  });
});
