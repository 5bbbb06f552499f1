import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { startFakeKubeApiServer, type FakeKubeApiServer } from '../fake-kube-apiserver/index.js';
import { registerUser, request, startTestServer, waitForStatus, type TestServer } from '../support/server.js';
import { closeAll, SocketTerminal, WsTerminal } from '../support/terminal-clients.js';

const MANAGED_BY = 'app.kubernetes.io/managed-by';

/** A template whose image the fake kubelet cannot pull, and one that crash-loops. */
const BROKEN_TEMPLATES = {
  'broken-image.yaml': 'name: broken-image\ndisplayName: Broken image\ncategory: test\nimage: example.com/does-not-exist:1\ndefaultPort: 8080\nresources: {cpu: 250m, memory: 256Mi, storage: 1Gi}\nversion: "1"\n',
  'crashing.yaml': 'name: crashing\ndisplayName: Crashing\ncategory: test\nimage: example.com/crashloop:1\ndefaultPort: 8080\nresources: {cpu: 250m, memory: 256Mi, storage: 1Gi}\nversion: "1"\n',
};

describe('clusters and environments on Kubernetes', () => {
  let kube: FakeKubeApiServer;
  let app: TestServer;
  let templatesDir: string;
  let admin: Awaited<ReturnType<typeof registerUser>>;
  let alice: Awaited<ReturnType<typeof registerUser>>;
  let bob: Awaited<ReturnType<typeof registerUser>>;
  let clusterId: string;
  const templateIds: Record<string, string> = {};
  const clients: Array<{ close(): void }> = [];

  async function createEnvironment(token: string, name: string, template = 'ubuntu', clusterIdOverride?: string) {
    const body: Record<string, unknown> = { name, templateId: templateIds[template] };
    if (clusterIdOverride) body.clusterId = clusterIdOverride;
    return request('POST', `${app.api}/environments`, { token, body });
  }

  beforeAll(async () => {
    kube = await startFakeKubeApiServer({ podReadyDelayMs: 100 });
    templatesDir = await mkdtemp(join(tmpdir(), 'devpocket-templates-'));
    await cp(resolve('templates'), templatesDir, { recursive: true });
    for (const [file, text] of Object.entries(BROKEN_TEMPLATES)) await writeFile(join(templatesDir, file), text);
    app = await startTestServer({ TEMPLATES_DIR: templatesDir });
    admin = await registerUser(app.api, 'kubeadmin');
    alice = await registerUser(app.api, 'alice');
    bob = await registerUser(app.api, 'bob');
    const templates = await request('GET', `${app.api}/templates?limit=100`, { token: alice.accessToken });
    for (const template of templates.body.items) templateIds[template.name] = template.id;
  });

  afterAll(async () => {
    closeAll(clients);
    await app?.close();
    await kube?.close();
    await rm(templatesDir, { recursive: true, force: true });
  });

  describe('registration', () => {
    it('registers a cluster, checks it at once, and never gives the kubeconfig back', async () => {
      const kubeconfig = kube.kubeconfig();
      const response = await request('POST', `${app.api}/clusters`, {
        token: admin.accessToken,
        body: { name: 'fake-1', region: 'eu-west', kubeconfig, isDefault: false },
      });
      expect(response.status).toBe(201);
      expect(response.body).toEqual({
        id: expect.any(String),
        name: 'fake-1',
        region: 'eu-west',
        server: kube.url,
        isDefault: false,
        status: 'connected',
        lastCheckedAt: expect.any(String),
        createdAt: expect.any(String),
      });
      clusterId = response.body.id;
      expect(JSON.stringify(response.body)).not.toContain('token');

      const db = new pg.Client({ connectionString: app.databaseUrl });
      await db.connect();
      try {
        const { rows } = await db.query('SELECT kubeconfig_sealed FROM clusters WHERE id = $1', [clusterId]);
        expect(rows[0].kubeconfig_sealed).toMatch(/^v1\./);
        expect(rows[0].kubeconfig_sealed).not.toContain('fake-admin');
        expect(rows[0].kubeconfig_sealed).not.toContain(kube.url);
      } finally {
        await db.end();
      }
    });

    it.each([
      ['text that is not YAML', '{{{ not yaml'],
      ['a kubeconfig with no cluster', 'apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n'],
    ])('refuses %s with 400 naming the problem', async (_case, kubeconfig) => {
      const response = await request('POST', `${app.api}/clusters`, { token: admin.accessToken, body: { name: 'bad', region: 'x', kubeconfig } });
      expect(response.status).toBe(400);
      expect(response.body.code).toBe('INVALID_KUBECONFIG');
      expect(response.body.message).toMatch(/kubeconfig/i);
    });

    it('refuses an unknown context and an exec credential plugin', async () => {
      const unknownContext = await request('POST', `${app.api}/clusters`, {
        token: admin.accessToken,
        body: { name: 'bad', region: 'x', kubeconfig: kube.kubeconfig(), context: 'nope' },
      });
      expect(unknownContext.status).toBe(400);
      expect(unknownContext.body.code).toBe('INVALID_KUBECONFIG');
      const withPlugin = parseYaml(kube.kubeconfig());
      withPlugin.users[0].user = { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: '/bin/sh', args: ['-c', 'touch /tmp/pwned'] } };
      const exec = stringifyYaml(withPlugin);
      const plugin = await request('POST', `${app.api}/clusters`, { token: admin.accessToken, body: { name: 'bad', region: 'x', kubeconfig: exec } });
      expect(plugin.status).toBe(400);
      expect(plugin.body.code).toBe('INVALID_KUBECONFIG');
    });

    it('refuses a duplicate name with 409 and non-admins with 403', async () => {
      const duplicate = await request('POST', `${app.api}/clusters`, { token: admin.accessToken, body: { name: 'fake-1', region: 'eu-west', kubeconfig: kube.kubeconfig() } });
      expect(duplicate.status).toBe(409);
      expect(duplicate.body.code).toBe('CLUSTER_NAME_TAKEN');
      const asUser = await request('POST', `${app.api}/clusters`, { token: alice.accessToken, body: { name: 'mine', region: 'x', kubeconfig: kube.kubeconfig() } });
      expect(asUser.status).toBe(403);
      expect((await request('POST', `${app.api}/clusters/${clusterId}/verify`, { token: alice.accessToken })).status).toBe(403);
    });

    it('verifies reachability and reports the server version; a revoked token reads as unauthorized', async () => {
      const verified = await request('POST', `${app.api}/clusters/${clusterId}/verify`, { token: admin.accessToken });
      expect(verified.status).toBe(200);
      expect(verified.body).toMatchObject({ id: clusterId, status: 'connected', version: expect.stringMatching(/^v1\./), lastError: null });

      const stale = await request('POST', `${app.api}/clusters`, {
        token: admin.accessToken,
        body: { name: 'stale', region: 'us-east', kubeconfig: kube.kubeconfig({ token: 'revoked-token' }) },
      });
      expect(stale.status).toBe(201);
      expect(stale.body.status).toBe('unauthorized');
      const health = await request('GET', `${app.api}/clusters/${stale.body.id}/health`, { token: admin.accessToken });
      expect(health.body).toMatchObject({ status: 'unauthorized', lastError: expect.any(String) });
      expect((await request('DELETE', `${app.api}/clusters/${stale.body.id}`, { token: admin.accessToken })).status).toBe(204);
    });

    it('lists regions', async () => {
      const regions = await request('GET', `${app.api}/clusters/regions`, { token: alice.accessToken });
      expect(regions.status).toBe(200);
      expect(regions.body.regions).toContain('eu-west');
    });
  });

  describe('access', () => {
    it('hides a non-default cluster from users without a grant, and lets a granted user use it', async () => {
      expect((await request('GET', `${app.api}/clusters`, { token: alice.accessToken })).body).toEqual({ items: [], total: 0, limit: 20, offset: 0 });
      expect((await request('GET', `${app.api}/clusters/${clusterId}`, { token: alice.accessToken })).status).toBe(404);
      const refused = await createEnvironment(alice.accessToken, 'not-allowed', 'ubuntu', clusterId);
      expect(refused.status).toBe(404);
      expect(refused.body.code).toBe('CLUSTER_NOT_FOUND');

      expect((await request('POST', `${app.api}/clusters/${clusterId}/access/${alice.user.id}`, { token: admin.accessToken })).status).toBe(204);
      const listed = await request('GET', `${app.api}/clusters`, { token: alice.accessToken });
      expect(listed.body.items.map((cluster: { id: string }) => cluster.id)).toEqual([clusterId]);
      expect(listed.body.items[0]).not.toHaveProperty('kubeconfig');

      expect((await request('DELETE', `${app.api}/clusters/${clusterId}/access/${alice.user.id}`, { token: admin.accessToken })).status).toBe(204);
      expect((await request('GET', `${app.api}/clusters/${clusterId}`, { token: alice.accessToken })).status).toBe(404);
      expect((await request('POST', `${app.api}/clusters/${clusterId}/access/00000000-0000-4000-8000-000000000000`, { token: admin.accessToken })).body.code).toBe('USER_NOT_FOUND');
    });

    it('puts environments on the default cluster when none is named', async () => {
      const patched = await request('PATCH', `${app.api}/clusters/${clusterId}`, { token: admin.accessToken, body: { isDefault: true } });
      expect(patched.status).toBe(200);
      expect(patched.body.isDefault).toBe(true);
      expect((await request('GET', `${app.api}/clusters/${clusterId}`, { token: bob.accessToken })).status).toBe(200);
    });
  });

  describe('an environment on the cluster', () => {
    let envId: string;
    let namespace: string;
    let podName: string;

    it('creates the namespace, volume, startup scripts, StatefulSet and Service, and runs', async () => {
      const created = await createEnvironment(alice.accessToken, 'k8s-app', 'nodejs');
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({ runtime: 'kubernetes', clusterId, status: 'creating' });
      envId = created.body.id;
      const running = await waitForStatus(app.api, alice.accessToken, envId, 'running', 30_000);
      expect(running.lastError).toBeNull();

      const namespaces = kube.list('Namespace').filter((ns) => ns.metadata.labels?.['devpocket.io/user-id'] === alice.user.id);
      expect(namespaces).toHaveLength(1);
      namespace = namespaces[0].metadata.name;
      expect(namespace).toMatch(/^devpocket-/);
      expect(namespaces[0].metadata.labels[MANAGED_BY]).toBe('devpocket-server');
      for (const kind of ['PersistentVolumeClaim', 'ConfigMap', 'StatefulSet', 'Service', 'Pod']) {
        const owned = kube.list(kind, namespace).filter((object) => object.metadata.labels?.['devpocket.io/environment-id'] === envId);
        expect({ kind, count: owned.length }).toEqual({ kind, count: 1 });
        expect(owned[0].metadata.labels).toMatchObject({
          'app.kubernetes.io/name': 'devpocket',
          [MANAGED_BY]: 'devpocket-server',
          'devpocket.io/environment-id': envId,
          'devpocket.io/user-id': alice.user.id,
        });
      }
      const pod = kube.list('Pod', namespace).find((object) => object.metadata.labels['devpocket.io/environment-id'] === envId);
      podName = pod.metadata.name;
      expect(pod.spec.securityContext.runAsNonRoot).toBe(true);
      const container = pod.spec.containers.find((each: { name: string }) => each.name === 'environment') ?? pod.spec.containers[0];
      expect(container.image).toBe('node:22-bookworm');
      expect(container.securityContext.allowPrivilegeEscalation).toBe(false);
      expect(container.resources.limits).toMatchObject({ cpu: '500m', memory: '1Gi' });
      const claim = kube.list('PersistentVolumeClaim', namespace)[0];
      expect(claim.spec.resources.requests.storage).toBe('5Gi');
    });

    it('gives a terminal over Socket.IO and plain WebSocket on one tmux session in the pod', async () => {
      const { terminal } = await SocketTerminal.open(app.url, alice.accessToken, { environmentId: envId, cols: 100, rows: 30 });
      clients.push(terminal);
      terminal.type('export POD_STATE=kept; echo MARK_$((6*7))\r');
      await terminal.waitFor(/MARK_42/, 15_000);

      const ws = await WsTerminal.connect(WsTerminal.address(app.url, envId, alice.accessToken));
      clients.push(ws);
      await ws.waitForFrame('welcome');
      ws.type('echo "state=$POD_STATE $((7*6))"\r');
      await ws.waitFor(/state=kept 42/, 15_000);
      expect(kube.requests.some((entry) => entry.resource === 'pods/exec' && entry.namespace === namespace)).toBe(true);
    });

    it("refuses another user's environment on both terminal transports", async () => {
      const socket = await SocketTerminal.connect(app.url, { token: bob.accessToken });
      clients.push(socket);
      expect(await socket.attach({ environmentId: envId, cols: 80, rows: 24 })).toEqual({ error: expect.objectContaining({ code: 'ENVIRONMENT_NOT_FOUND' }) });
      expect((await WsTerminal.refusal(WsTerminal.address(app.url, envId, bob.accessToken))).statusCode).toBe(404);
    });

    it('reports the startup progress in its logs', async () => {
      const logs = await request('GET', `${app.api}/environments/${envId}/logs?tail=50`, { token: alice.accessToken });
      expect(logs.status).toBe(200);
      expect(Array.isArray(logs.body.lines)).toBe(true);
      expect(logs.body.lines.length).toBeGreaterThan(0);

      const follow = await WsTerminal.connect(WsTerminal.address(app.url, envId, alice.accessToken, {}, 'logs'));
      clients.push(follow);
      await follow.waitForLogLine(/devpocket: startup complete/);
      kube.appendLog(namespace, podName, 'devpocket: a line written after the client connected');
      await follow.waitForLogLine(/written after the client connected/);
    });

    it('stops by scaling to 0 and keeping the volume, and starts again', async () => {
      expect((await request('POST', `${app.api}/environments/${envId}/stop`, { token: alice.accessToken })).status).toBe(202);
      await waitForStatus(app.api, alice.accessToken, envId, 'stopped', 30_000);
      const sts = kube.list('StatefulSet', namespace)[0];
      expect(sts.spec.replicas).toBe(0);
      expect(kube.get('Pod', namespace, podName)).toBeUndefined();
      expect(kube.list('PersistentVolumeClaim', namespace)).toHaveLength(1);

      expect((await request('POST', `${app.api}/environments/${envId}/start`, { token: alice.accessToken })).status).toBe(202);
      await waitForStatus(app.api, alice.accessToken, envId, 'running', 30_000);
      expect(kube.list('StatefulSet', namespace)[0].spec.replicas).toBe(1);
    });

    it('restarts by deleting the pod', async () => {
      const before = kube.get('Pod', namespace, podName).metadata.uid;
      expect((await request('POST', `${app.api}/environments/${envId}/restart`, { token: alice.accessToken })).status).toBe(202);
      await waitForStatus(app.api, alice.accessToken, envId, 'running', 30_000);
      expect(kube.get('Pod', namespace, podName).metadata.uid).not.toBe(before);
    });

    it('refuses to remove a cluster that environments still use', async () => {
      const response = await request('DELETE', `${app.api}/clusters/${clusterId}`, { token: admin.accessToken });
      expect(response.status).toBe(409);
      expect(response.body.code).toBe('CLUSTER_IN_USE');
    });

    it('deletes everything the environment owns, volume included', async () => {
      expect((await request('DELETE', `${app.api}/environments/${envId}`, { token: alice.accessToken })).status).toBe(202);
      await waitForStatus(app.api, alice.accessToken, envId, 'gone', 30_000);
      for (const kind of ['PersistentVolumeClaim', 'ConfigMap', 'StatefulSet', 'Service', 'Pod']) {
        const left = kube.list(kind, namespace).filter((object) => object.metadata.labels?.['devpocket.io/environment-id'] === envId && !object.metadata.deletionTimestamp);
        expect({ kind, left: left.length }).toEqual({ kind, left: 0 });
      }
    });
  });

  describe('failures', () => {
    it('ends in error with the kubelet reason when the image cannot be pulled', async () => {
      const created = await createEnvironment(bob.accessToken, 'no-image', 'broken-image');
      const failed = await waitForStatus(app.api, bob.accessToken, created.body.id, 'error', 30_000);
      expect(failed.lastError).toMatch(/ImagePullBackOff|ErrImagePull/);
      expect((await request('DELETE', `${app.api}/environments/${created.body.id}`, { token: bob.accessToken })).status).toBe(202);
      await waitForStatus(app.api, bob.accessToken, created.body.id, 'gone', 30_000);
    });

    it('ends in error when the container crash-loops', async () => {
      const created = await createEnvironment(bob.accessToken, 'crashing', 'crashing');
      const failed = await waitForStatus(app.api, bob.accessToken, created.body.id, 'error', 30_000);
      expect(failed.lastError).toMatch(/CrashLoopBackOff/);
    });

    it('ends in error with a readable reason when RBAC forbids a create', async () => {
      kube.faults.forbid('create', 'statefulsets');
      try {
        const created = await createEnvironment(bob.accessToken, 'forbidden');
        const failed = await waitForStatus(app.api, bob.accessToken, created.body.id, 'error', 30_000);
        expect(failed.lastError).toMatch(/forbidden/i);
      } finally {
        kube.faults.clear();
      }
    });

    it('keeps following pod status after the watch is dropped or expired', async () => {
      kube.faults.dropWatches();
      kube.faults.expireWatches();
      const created = await createEnvironment(bob.accessToken, 'after-drop');
      await waitForStatus(app.api, bob.accessToken, created.body.id, 'running', 30_000);
    });
  });
});
