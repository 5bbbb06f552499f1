import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import {
  KUBERNETES_RBAC_RULES,
  buildConfigMap,
  buildNamespace,
  buildPersistentVolumeClaim,
  buildService,
  buildStatefulSet,
  loadKubeConfig,
  type EnvironmentSpec,
} from '@devpocket/kubernetes';
import { filter, firstValueFrom, timeout, toArray, takeWhile, type Subscription } from 'rxjs';
import { startFakeKubeApiServer, type FakeKubeApiServer } from '../../../../test/fake-kube-apiserver/index.js';
import { RuntimeError, type RuntimeEnvironment, type RuntimeStatusEvent, type RuntimeTemplate, type TerminalStream } from '../environment-runtime.js';
import { screenOf, type Screen } from '../testing/terminal-screen.js';
import { KubernetesRuntime } from './kubernetes-runtime.js';

const template: RuntimeTemplate = {
  name: 'ubuntu',
  image: 'ubuntu:24.04',
  defaultPort: 3000,
  environmentVariables: { EDITOR: 'nano' },
  startupCommands: ['touch "$HOME/startup-ran"'],
};
const resources = { cpu: '500m', memory: '1Gi', storage: '5Gi' };


/** Waits for a condition on the fake's stored objects (the fake's state changes asynchronously). */
async function eventually(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function rejection(promise: Promise<unknown>): Promise<RuntimeError> {
  const error = await promise.then(
    () => undefined,
    (failure: unknown) => failure,
  );
  if (!(error instanceof RuntimeError)) throw new Error(`expected a RuntimeError, got ${String(error)}`);
  return error;
}

describe(KubernetesRuntime.name, () => {
  let fake: FakeKubeApiServer;
  let runtime: KubernetesRuntime;
  const terminals: TerminalStream[] = [];
  const subscriptions: Subscription[] = [];
  /** Indexes of fake.requests made by the tests themselves (setup through client-node), kept out of the RBAC check. */
  const testRequests = new Set<number>();

  function newEnvironment(): RuntimeEnvironment {
    return { id: randomUUID(), userId: randomUUID(), name: 'playground' };
  }

  function names(env: RuntimeEnvironment): { namespace: string; name: string; pod: string } {
    const namespace = `devpocket-${env.userId.replaceAll('-', '').slice(0, 8)}`;
    return { namespace, name: `dp-${env.id}`, pod: `dp-${env.id}-0` };
  }

  async function open(env: RuntimeEnvironment, options: { cols?: number; rows?: number; readOnly?: boolean } = {}): Promise<{ terminal: TerminalStream; screen: Screen }> {
    const terminal = await runtime.openTerminal(env, { cols: options.cols ?? 100, rows: options.rows ?? 30, readOnly: options.readOnly });
    terminals.push(terminal);
    return { terminal, screen: screenOf(terminal) };
  }

  async function running(env = newEnvironment(), tmpl = template): Promise<RuntimeEnvironment> {
    await runtime.provision(env, tmpl, resources);
    await runtime.start(env);
    return env;
  }

  /** Runs API calls of the test itself, whose requests are not the driver's. */
  async function asTest<T>(call: () => Promise<T>): Promise<T> {
    const start = fake.requests.length;
    try {
      return await call();
    } finally {
      for (let index = start; index < fake.requests.length; index += 1) testRequests.add(index);
    }
  }

  beforeAll(async () => {
    fake = await startFakeKubeApiServer({ podReadyDelayMs: 100 });
    runtime = new KubernetesRuntime({ kubeConfig: loadKubeConfig(fake.kubeconfig()), clusterId: 'fake', podReadyTimeoutMs: 15_000 });
  });

  afterAll(async () => {
    for (const subscription of subscriptions) subscription.unsubscribe();
    for (const terminal of terminals) terminal.close();
    await runtime?.close();
    await fake?.close();
  });

  it('reads a never-provisioned environment as absent', async () => {
    await expect(runtime.inspect(newEnvironment())).resolves.toBe('absent');
  });

  it('provisions the namespace, volume, scripts, service and a StatefulSet scaled to 0', async () => {
    const env = newEnvironment();
    const { namespace, name } = names(env);
    await runtime.provision(env, template, resources);

    expect(fake.get('Namespace', undefined, namespace).metadata.labels).toMatchObject({ 'app.kubernetes.io/managed-by': 'devpocket-server', 'devpocket.io/user-id': env.userId });
    const labels = { 'app.kubernetes.io/name': 'devpocket', 'app.kubernetes.io/managed-by': 'devpocket-server', 'devpocket.io/environment-id': env.id, 'devpocket.io/user-id': env.userId };
    for (const kind of ['PersistentVolumeClaim', 'ConfigMap', 'Service', 'StatefulSet']) {
      expect(fake.get(kind, namespace, name)?.metadata.labels).toEqual(labels);
    }
    expect(fake.get('PersistentVolumeClaim', namespace, name).spec.resources.requests.storage).toBe('5Gi');
    expect(fake.get('ConfigMap', namespace, name).data['startup.sh']).toContain(`'touch "$HOME/startup-ran"'`);
    expect(fake.get('Service', namespace, name).spec.ports[0].port).toBe(3000);
    expect(fake.get('StatefulSet', namespace, name).spec.replicas).toBe(0);
    await expect(runtime.inspect(env)).resolves.toBe('stopped');

    // A second provision (a retry after a crash, or the next start) converges without an error.
    await runtime.provision(env, template, resources);
    expect(fake.list('StatefulSet', namespace)).toHaveLength(1);
  });

  it('starts the pod and reports provisioning then running through observe', async () => {
    const env = newEnvironment();
    await runtime.provision(env, template, resources);
    const events: RuntimeStatusEvent[] = [];
    subscriptions.push(runtime.observe(env).subscribe((event) => events.push(event)));
    await runtime.start(env);

    const { namespace, pod } = names(env);
    expect(fake.get('Pod', namespace, pod).status.phase).toBe('Running');
    await expect(runtime.inspect(env)).resolves.toBe('running');
    await eventually(() => events.at(-1)?.state === 'running', 'observe reports running');
    expect(events.map((event) => event.state)).toContain('provisioning');
    expect(events.every((event) => event.environmentId === env.id)).toBe(true);
  });

  it('opens a terminal on the tmux session in the pod', async () => {
    const env = await running();
    const { terminal, screen } = await open(env);
    terminal.write('echo MARK_$((6*7))\r');
    await screen.waitFor(/MARK_42/);
    const exec = fake.requests.filter((request) => request.resource === 'pods/exec' && request.namespace === names(env).namespace);
    expect(exec.length).toBeGreaterThan(0);
  });

  it('resizes the terminal over channel 4', async () => {
    const env = await running();
    const { terminal, screen } = await open(env, { cols: 100, rows: 30 });
    terminal.write('stty size\r');
    await screen.waitFor(/30 100\r\n/);
    terminal.resize(120, 40);
    // tmux 3.2+ batches pane resizes (up to 250 ms): ask again until the shell sees the new size.
    let resized = false;
    for (let attempt = 0; !resized && attempt < 20; attempt += 1) {
      terminal.write('stty size\r');
      resized = await screen.seen(/40 120\r\n/, 300);
    }
    expect(resized).toBe(true);
    expect(() => terminal.resize(0, 10)).toThrow(RuntimeError);
  });

  it('shares one shell between two terminals, and a read-only one sees it without typing into it', async () => {
    const env = await running();
    const first = await open(env);
    first.terminal.write('SHARED=hello_$((1+1)); echo SET_$((2+2))\r');
    await first.screen.waitFor(/SET_4/);
    const second = await open(env);
    second.terminal.write('echo "value:$SHARED"\r');
    await second.screen.waitFor(/value:hello_2/);
    await first.screen.waitFor(/value:hello_2/);

    const viewer = await open(env, { readOnly: true });
    viewer.terminal.write('echo typed_by_viewer\r');
    first.terminal.write('echo from_owner_$((2*3))\r');
    await viewer.screen.waitFor(/from_owner_6/);
    expect(first.screen.text()).not.toContain('typed_by_viewer');
  });

  it('closing a terminal detaches it and keeps the shell', async () => {
    const env = await running();
    const first = await open(env);
    first.terminal.write('KEPT=still_here; echo SET_$((3+3))\r');
    await first.screen.waitFor(/SET_6/);
    first.terminal.close();
    await first.screen.exited;
    const second = await open(env);
    second.terminal.write('echo "kept:$KEPT"\r');
    await second.screen.waitFor(/kept:still_here/);
  });

  it('holds output back while paused and delivers it on resume', async () => {
    const env = await running();
    const { terminal, screen } = await open(env);
    terminal.write('echo READY_$((4+4))\r');
    await screen.waitFor(/READY_8/);
    terminal.pause();
    terminal.write('echo PAUSED_$((6*7))\r');
    expect(await screen.seen(/PAUSED_42/, 500)).toBe(false);
    terminal.resume();
    await screen.waitFor(/PAUSED_42/);
  });

  it('ends the session when the shell exits, with its exit code', async () => {
    const env = await running();
    const { terminal, screen } = await open(env);
    terminal.write('exit\r');
    await expect(screen.exited).resolves.toEqual({ exitCode: 0 });
  });

  it('stops (pod gone, volume kept) and starts again with the files of HOME', async () => {
    const env = await running();
    const { namespace, name, pod } = names(env);
    const before = await open(env);
    before.terminal.write('echo persisted > "$HOME/note"; echo WROTE_$((1+2))\r');
    await before.screen.waitFor(/WROTE_3/);

    await runtime.stop(env);
    expect(fake.get('Pod', namespace, pod)).toBeUndefined();
    expect(fake.get('PersistentVolumeClaim', namespace, name)).toBeDefined();
    expect(fake.get('StatefulSet', namespace, name).spec.replicas).toBe(0);
    await expect(runtime.inspect(env)).resolves.toBe('stopped');
    await before.screen.exited;
    await expect(runtime.openTerminal(env, { cols: 80, rows: 24 })).rejects.toMatchObject({ reason: 'NotRunning' });

    await runtime.start(env);
    const after = await open(env);
    after.terminal.write('cat "$HOME/note"; echo "shell:${SHELL_STATE:-new}"\r');
    await after.screen.waitFor(/persisted/);
    await after.screen.waitFor(/shell:new/);
  });

  it('restarts by deleting the pod, and the environment comes back', async () => {
    const env = await running();
    const { namespace, pod } = names(env);
    const uid = fake.get('Pod', namespace, pod).metadata.uid;
    await runtime.restart(env);
    const replaced = fake.get('Pod', namespace, pod);
    expect(replaced.metadata.uid).not.toBe(uid);
    await expect(runtime.inspect(env)).resolves.toBe('running');
    const { terminal, screen } = await open(env);
    terminal.write('echo BACK_$((5+5))\r');
    await screen.waitFor(/BACK_10/);
  });

  it('reads the tail of the pod log and follows it', async () => {
    const env = await running();
    const { namespace, pod } = names(env);
    const lines = await runtime.logs(env, { tail: 50 });
    expect(lines).toContain('devpocket: init container setup completed');
    expect(lines).toContain('devpocket: startup complete');
    expect(lines.indexOf('devpocket: init container setup completed')).toBeLessThan(lines.indexOf('devpocket: startup complete'));
    expect(await runtime.logs(env, { tail: 1 })).toEqual(['devpocket: startup complete']);

    const followed = firstValueFrom(runtime.followLogs(env, { tail: 1 }).pipe(takeWhile((line) => line !== 'devpocket: done following', true), toArray(), timeout(5_000)));
    await new Promise((resolve) => setTimeout(resolve, 200));
    fake.appendLog(namespace, pod, 'hello from the container', 'environment');
    fake.appendLog(namespace, pod, 'devpocket: done following', 'environment');
    expect(await followed).toEqual(['devpocket: startup complete', 'hello from the container', 'devpocket: done following']);

    await runtime.stop(env);
    expect((await runtime.logs(env, { tail: 50 })).at(-1)).toBe('devpocket: startup complete');
  });

  it('destroys every object of the environment, the volume included, and a second destroy is done', async () => {
    const env = await running();
    const { namespace, name, pod } = names(env);
    const events: RuntimeStatusEvent[] = [];
    subscriptions.push(runtime.observe(env).subscribe((event) => events.push(event)));
    await runtime.destroy(env);
    await eventually(
      () => ['StatefulSet', 'Service', 'ConfigMap', 'PersistentVolumeClaim'].every((kind) => fake.get(kind, namespace, name) === undefined) && !fake.get('Pod', namespace, pod),
      'every object is gone',
    );
    expect(fake.get('Namespace', undefined, namespace)).toBeDefined();
    await runtime.destroy(env);
    await expect(runtime.inspect(env)).resolves.toBe('absent');
    await eventually(() => events.at(-1)?.state === 'absent', 'observe reports absent');
  });

  it('adopts objects that already exist (409) when a provision is retried', async () => {
    const env = newEnvironment();
    const { namespace } = names(env);
    const spec: EnvironmentSpec = {
      environmentId: env.id,
      userId: env.userId,
      templateName: template.name,
      image: template.image,
      port: template.defaultPort,
      environmentVariables: template.environmentVariables,
      startupCommands: template.startupCommands,
      resources,
    };
    const kubeConfig = loadKubeConfig(fake.kubeconfig());
    const core = kubeConfig.makeApiClient(CoreV1Api);
    const apps = kubeConfig.makeApiClient(AppsV1Api);
    await asTest(async () => {
      await core.createNamespace({ body: buildNamespace(env.userId) });
      await core.createNamespacedPersistentVolumeClaim({ namespace, body: buildPersistentVolumeClaim(spec) });
      await core.createNamespacedConfigMap({ namespace, body: buildConfigMap(spec) });
      await core.createNamespacedService({ namespace, body: buildService(spec) });
      await apps.createNamespacedStatefulSet({ namespace, body: buildStatefulSet(spec, { replicas: 0 }) });
    });
    const from = fake.requests.length;
    await runtime.provision(env, template, resources);
    const creates = fake.requests.slice(from).filter((request) => request.verb === 'create');
    expect(creates.map((request) => request.resource).sort()).toEqual(['configmaps', 'persistentvolumeclaims', 'services', 'statefulsets']);
    await runtime.start(env);
    await expect(runtime.inspect(env)).resolves.toBe('running');
  });

  it('refuses to adopt an object of the same name that is not the environment\'s', async () => {
    const env = newEnvironment();
    const { namespace, name } = names(env);
    const core = loadKubeConfig(fake.kubeconfig()).makeApiClient(CoreV1Api);
    await asTest(async () => {
      await core.createNamespace({ body: buildNamespace(env.userId) });
      await core.createNamespacedConfigMap({ namespace, body: { metadata: { name, labels: { team: 'someone-else' } }, data: {} } });
    });
    const error = await rejection(runtime.provision(env, template, resources));
    expect(error.reason).toBe('Conflict');
    expect(error.message).toBe(`ConfigMap ${namespace}/${name} exists and does not belong to environment ${env.id}`);
  });

  it('fails with a readable forbidden error when RBAC refuses a create', async () => {
    const env = newEnvironment();
    fake.faults.forbid('create', 'statefulsets');
    try {
      const error = await rejection(runtime.provision(env, template, resources));
      expect(error.reason).toBe('Forbidden');
      expect(error.message).toMatch(/^Could not create StatefulSet devpocket-[0-9a-f]{8}\/dp-[0-9a-f-]+: .*forbidden.*\(Forbidden, HTTP 403\)$/);
    } finally {
      fake.faults.clear();
    }
    await runtime.provision(env, template, resources);
    await runtime.start(env);
  });

  it('fails with the API server\'s reason on a 422 Invalid', async () => {
    fake.faults.failNext({ method: 'POST', resource: 'services' }, 422, 'Invalid', 'Service "x" is invalid: spec.ports[0].port: Invalid value: 3000: provided port is already allocated');
    const error = await rejection(runtime.provision(newEnvironment(), template, resources));
    expect(error.reason).toBe('Invalid');
    expect(error.message).toContain('provided port is already allocated');
  });

  it('rejects an invalid manifest before sending it', async () => {
    const from = fake.requests.length;
    const error = await rejection(runtime.provision(newEnvironment(), { ...template, image: 'Not A Valid Image' }, resources));
    expect(error.reason).toBe('InvalidManifest');
    expect(error.message).toContain('is not a valid image reference');
    expect(fake.requests.slice(from).filter((request) => request.verb === 'create')).toEqual([]);
  });

  it('fails to start an image that cannot be pulled, and observe reports ImagePullBackOff', async () => {
    const env = newEnvironment();
    await runtime.provision(env, { ...template, image: 'does-not-exist' }, resources);
    const backOff = firstValueFrom(
      runtime.observe(env).pipe(
        filter((event) => event.state === 'error' && /ImagePullBackOff/.test(event.message ?? '')),
        timeout(10_000),
      ),
    );
    const error = await rejection(runtime.start(env));
    expect(['ErrImagePull', 'ImagePullBackOff']).toContain(error.reason);
    // The init container has the same image and is pulled first.
    expect(error.message).toMatch(/^The image (docker\.io\/library\/)?does-not-exist(:latest)? of (init container setup|container environment) could not be pulled/);
    const event = await backOff;
    expect(event.message).toMatch(/could not be pulled \(ImagePullBackOff\): Back-off pulling image "does-not-exist"/);
    await expect(runtime.inspect(env)).resolves.toBe('error');
  });

  it('keeps watching after 410 Expired and after dropped streams', async () => {
    const env = newEnvironment();
    await runtime.provision(env, template, resources);
    const lists = (): number => fake.requests.filter((request) => request.verb === 'list' && request.resource === 'pods').length;
    const listsBefore = lists();

    fake.faults.expireWatches();
    await eventually(() => lists() > listsBefore, 'the pod informer re-lists after 410 Expired');
    await runtime.start(env);
    await expect(runtime.inspect(env)).resolves.toBe('running');

    const watches = (): number => fake.requests.filter((request) => request.verb === 'watch').length;
    const watchesBefore = watches();
    fake.faults.dropWatches();
    await eventually(() => watches() >= watchesBefore + 2, 'both informers watch again after a dropped stream', 10_000);
    await runtime.stop(env);
    await expect(runtime.inspect(env)).resolves.toBe('stopped');

    // Both at once, then an environment the watch has never seen: it starts while the informers recover.
    fake.faults.dropWatches();
    fake.faults.expireWatches();
    const fresh = newEnvironment();
    await runtime.provision(fresh, template, resources);
    await runtime.start(fresh);
    await expect(runtime.inspect(fresh)).resolves.toBe('running');
  });

  it('cancels a start still waiting for its pod when the environment is destroyed or the caller aborts', async () => {
    const env = newEnvironment();
    const { namespace, name } = names(env);
    await runtime.provision(env, template, resources);
    // Without its ConfigMap the pod stays in ContainerCreating: the start waits.
    await asTest(() => loadKubeConfig(fake.kubeconfig()).makeApiClient(CoreV1Api).deleteNamespacedConfigMap({ namespace, name }));
    const aborted = new AbortController();
    const waiting = rejection(runtime.start(env, { signal: aborted.signal }));
    await eventually(() => fake.get('Pod', namespace, `${name}-0`) !== undefined, 'the pod is created');
    aborted.abort();
    expect(await waiting).toMatchObject({ reason: 'Cancelled' });

    const superseded = rejection(runtime.start(env));
    await new Promise((resolve) => setTimeout(resolve, 100));
    await runtime.destroy(env);
    expect(await superseded).toMatchObject({ reason: 'Cancelled', message: `Superseded by the deletion of environment ${env.id}` });
    await eventually(() => fake.get('StatefulSet', namespace, name) === undefined, 'the StatefulSet is gone');
  });

  it('uses exactly the RBAC it declares', () => {
    const groups: Record<string, string> = { statefulsets: 'apps' };
    const used = new Set<string>();
    fake.requests.forEach((request, index) => {
      if (testRequests.has(index) || !request.resource) return;
      const resource = request.resource;
      const group = groups[resource.split('/')[0]] ?? '';
      const verbs = request.verb === 'exec' ? ['create', 'get'] : request.verb === 'log' ? ['get'] : [request.verb];
      for (const verb of verbs) used.add(`${group}/${resource}:${verb}`);
    });
    const declared = new Set(KUBERNETES_RBAC_RULES.flatMap((rule) => rule.verbs.map((verb) => `${rule.apiGroup}/${rule.resource}:${verb}`)));
    expect([...used].sort()).toEqual([...declared].sort());
  });
});

describe(`${KubernetesRuntime.name} without permission to list pods`, () => {
  it('fails to start with the readable 403, and works once RBAC allows it', async () => {
    const fake = await startFakeKubeApiServer({ podReadyDelayMs: 50 });
    const runtime = new KubernetesRuntime({ kubeConfig: loadKubeConfig(fake.kubeconfig()), clusterId: 'rbac' });
    try {
      const env = { id: randomUUID(), userId: randomUUID(), name: 'rbac' };
      await runtime.provision(env, template, resources);
      fake.faults.forbid('list', 'pods');
      const error = await rejection(runtime.start(env));
      expect(error.reason).toBe('Forbidden');
      expect(error.message).toMatch(/^Could not list Pods \(app\.kubernetes\.io\/managed-by=devpocket-server\): .*forbidden.*\(Forbidden, HTTP 403\)$/);
      fake.faults.clear();
      await runtime.start(env);
      await expect(runtime.inspect(env)).resolves.toBe('running');
    } finally {
      await runtime.close();
      await fake.close();
    }
  });
});

describe(`${KubernetesRuntime.name} with a silent watch`, () => {
  it('restarts a watch that delivers neither events nor bookmarks', async () => {
    const fake = await startFakeKubeApiServer({ podReadyDelayMs: 50, bookmarkIntervalMs: 3_600_000 });
    const runtime = new KubernetesRuntime({ kubeConfig: loadKubeConfig(fake.kubeconfig()), clusterId: 'silent', watchStaleAfterMs: 400 });
    try {
      const env = { id: randomUUID(), userId: randomUUID(), name: 'quiet' };
      await runtime.provision(env, template, resources);
      await runtime.start(env);
      const watches = (): number => fake.requests.filter((request) => request.verb === 'watch' && request.resource === 'pods').length;
      const first = watches();
      await eventually(() => watches() >= first + 2, 'the silent pod watch is restarted twice', 5_000);
      await runtime.stop(env);
      await expect(runtime.inspect(env)).resolves.toBe('stopped');
    } finally {
      await runtime.close();
      await fake.close();
    }
  });
});
