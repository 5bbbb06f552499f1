import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CoreV1Api } from '@kubernetes/client-node';
import { loadKubeConfig, namespaceName } from '@devpocket/kubernetes';
import { KubernetesRuntime, type RuntimeEnvironment, type TerminalStream } from '@devpocket/runtime';

/**
 * The Kubernetes driver against a real cluster (kind, k3d, or any with a default StorageClass),
 * opt-in: `KUBECONFIG=... DEVPOCKET_E2E_CLUSTER=1 npm run test:cluster`. It works in a throw-away
 * namespace (a random user's) and deletes it at the end, with the kubeconfig's own credentials.
 */
const POD_TIMEOUT_MS = 5 * 60_000;

function waitForOutput(terminal: TerminalStream, pattern: RegExp, timeoutMs = 30_000): Promise<void> {
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${pattern} in ${JSON.stringify(output.slice(-500))}`)), timeoutMs);
    terminal.onData((data) => {
      output += data;
      if (pattern.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
}

describe('the Kubernetes driver on a real cluster', () => {
  const env: RuntimeEnvironment = { id: randomUUID(), userId: randomUUID(), name: 'cluster-e2e' };
  let runtime: KubernetesRuntime;
  let core: CoreV1Api;

  beforeAll(async () => {
    const kubeConfig = loadKubeConfig(await readFile(process.env.KUBECONFIG!, 'utf8'));
    core = kubeConfig.makeApiClient(CoreV1Api);
    runtime = new KubernetesRuntime({ kubeConfig, clusterId: 'real-cluster', podReadyTimeoutMs: POD_TIMEOUT_MS, storageClassName: process.env.KUBERNETES_STORAGE_CLASS });
  });

  afterAll(async () => {
    await runtime?.destroy(env).catch(() => undefined);
    await runtime?.close();
    await core?.deleteNamespace({ name: namespaceName(env.userId) }).catch(() => undefined);
  }, POD_TIMEOUT_MS);

  it('provisions and starts an environment, and gives a tmux terminal as a non-root user', async () => {
    await runtime.provision(env, { name: 'ubuntu', image: 'ubuntu:24.04', defaultPort: 8080, environmentVariables: { GREETING: 'hi' }, startupCommands: ['mkdir -p "$HOME/projects"'] }, { cpu: '250m', memory: '512Mi', storage: '1Gi' });
    await runtime.start(env);
    expect(await runtime.inspect(env)).toBe('running');
    const terminal = await runtime.openTerminal(env, { cols: 100, rows: 30 });
    const seen = waitForOutput(terminal, /uid=1000 greeting=hi 42/);
    terminal.write('echo "uid=$(id -u) greeting=$GREETING $((6*7))"\r');
    await seen;
    terminal.close();
    expect((await runtime.logs(env, { tail: 50 })).join('\n')).toMatch(/devpocket: ready/);
  }, POD_TIMEOUT_MS);

  it('stops by scaling to 0, keeps the home volume, and starts again', async () => {
    const before = await runtime.openTerminal(env, { cols: 80, rows: 24 });
    const written = waitForOutput(before, /written-42/);
    before.write('echo kept > "$HOME/projects/marker" && echo written-$((6*7))\r');
    await written;
    before.close();
    await runtime.stop(env);
    expect(await runtime.inspect(env)).toBe('stopped');
    await runtime.start(env);
    const after = await runtime.openTerminal(env, { cols: 80, rows: 24 });
    const read = waitForOutput(after, /marker=kept/);
    after.write('echo "marker=$(cat "$HOME/projects/marker")"\r');
    await read;
    after.close();
  }, POD_TIMEOUT_MS * 2);

  it('destroys everything the environment owns', async () => {
    await runtime.destroy(env);
    expect(await runtime.inspect(env)).toBe('absent');
  }, POD_TIMEOUT_MS);
});
