import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ENVIRONMENT_ID_LABEL, MANAGED_BY_LABEL, NAME_LABEL, USER_ID_LABEL } from './labels.js';
import {
  InvalidManifestError,
  buildConfigMap,
  buildNamespace,
  buildPersistentVolumeClaim,
  buildService,
  buildStatefulSet,
  type EnvironmentSpec,
} from './manifests.js';
import { HOME_DIR } from './startup-scripts.js';

const ENV_ID = '3f2b8c1e-9d4a-4e6b-8f0a-1c2d3e4f5a6b';
const USER_ID = 'A1B2C3D4-0000-4000-8000-000000000001';

function spec(overrides: Partial<EnvironmentSpec> = {}): EnvironmentSpec {
  return {
    environmentId: ENV_ID,
    userId: USER_ID,
    templateName: 'golang',
    image: 'golang:1.23-bookworm',
    port: 8080,
    environmentVariables: { CGO_ENABLED: '0', EDITOR: 'nano', HOME: '/root', GREETING: 'cost $(HOME) $$5' },
    startupCommands: ['touch "$HOME/ran-once"', "echo 'it''s' >> \"$HOME/quotes\""],
    resources: { cpu: '500m', memory: '1Gi', storage: '5Gi' },
    ...overrides,
  };
}

const expectedLabels = {
  [NAME_LABEL]: 'devpocket',
  [MANAGED_BY_LABEL]: 'devpocket-server',
  [ENVIRONMENT_ID_LABEL]: ENV_ID,
  [USER_ID_LABEL]: USER_ID,
};

function invalid(build: () => unknown): InvalidManifestError {
  try {
    build();
  } catch (error) {
    if (error instanceof InvalidManifestError) return error;
    throw error;
  }
  throw new Error('the manifest was accepted');
}

describe('buildNamespace', () => {
  it('names the namespace after the first 8 hex digits of the user id and labels it with the owner', () => {
    const namespace = buildNamespace(USER_ID);
    expect(namespace.metadata?.name).toBe('devpocket-a1b2c3d4');
    expect(namespace.metadata?.labels).toEqual({
      [NAME_LABEL]: 'devpocket',
      [MANAGED_BY_LABEL]: 'devpocket-server',
      [USER_ID_LABEL]: USER_ID,
      'pod-security.kubernetes.io/enforce': 'baseline',
    });
  });

  it('refuses a user id that does not start with 8 hex digits', () => {
    expect(() => buildNamespace('not-a-uuid')).toThrow(/8 hexadecimal digits/);
  });
});

describe('buildPersistentVolumeClaim', () => {
  it('requests the plan storage, ReadWriteOnce, in the user namespace with every label', () => {
    const claim = buildPersistentVolumeClaim(spec());
    expect(claim.metadata).toEqual({ name: `dp-${ENV_ID}`, namespace: 'devpocket-a1b2c3d4', labels: expectedLabels });
    expect(claim.spec?.accessModes).toEqual(['ReadWriteOnce']);
    expect(claim.spec?.resources?.requests).toEqual({ storage: '5Gi' });
    expect(claim.spec).not.toHaveProperty('storageClassName');
  });

  it('uses the configured storage class', () => {
    expect(buildPersistentVolumeClaim(spec({ storageClassName: 'fast-ssd' })).spec?.storageClassName).toBe('fast-ssd');
  });

  it('rejects a storage size that is not a Kubernetes quantity', () => {
    const error = invalid(() => buildPersistentVolumeClaim(spec({ resources: { cpu: '1', memory: '1Gi', storage: '5 gigabytes' } })));
    expect(error.kind).toBe('PersistentVolumeClaim');
    expect(error.message).toMatch(/spec\.resources\.requests\.storage must match format "quantity"/);
  });

  it('rejects a storage class name that is not a DNS subdomain', () => {
    expect(invalid(() => buildPersistentVolumeClaim(spec({ storageClassName: 'Fast_SSD' }))).problems).toEqual([
      'spec.storageClassName "Fast_SSD" is not a DNS-1123 subdomain',
    ]);
  });
});

describe('buildService', () => {
  it('exposes the template port to the environment pod only', () => {
    const service = buildService(spec());
    expect(service.metadata?.labels).toEqual(expectedLabels);
    expect(service.spec?.type).toBe('ClusterIP');
    expect(service.spec?.selector).toEqual({ [NAME_LABEL]: 'devpocket', [ENVIRONMENT_ID_LABEL]: ENV_ID });
    expect(service.spec?.ports).toEqual([{ name: 'app', port: 8080, targetPort: 8080, protocol: 'TCP' }]);
  });

  it('rejects a port outside 1-65535', () => {
    expect(invalid(() => buildService(spec({ port: 70000 }))).problems).toEqual(['spec.ports[0].port 70000 is not a port number (1-65535)']);
  });
});

describe('buildStatefulSet', () => {
  const statefulSet = buildStatefulSet(spec(), { replicas: 0 });
  const pod = statefulSet.spec!.template.spec!;
  const main = pod.containers[0];
  const setup = pod.initContainers![0];

  it('runs one named pod (dp-<id>-0) selected by environment id, with every label', () => {
    expect(statefulSet.metadata?.name).toBe(`dp-${ENV_ID}`);
    expect(statefulSet.metadata?.namespace).toBe('devpocket-a1b2c3d4');
    expect(statefulSet.metadata?.labels).toEqual(expectedLabels);
    expect(statefulSet.spec?.replicas).toBe(0);
    expect(statefulSet.spec?.serviceName).toBe(`dp-${ENV_ID}`);
    expect(statefulSet.spec?.selector.matchLabels).toEqual({ [NAME_LABEL]: 'devpocket', [ENVIRONMENT_ID_LABEL]: ENV_ID });
    expect(statefulSet.spec?.template.metadata?.labels).toEqual(expectedLabels);
    expect(buildStatefulSet(spec(), { replicas: 1 }).spec?.replicas).toBe(1);
  });

  it('runs the pod non-root with a RuntimeDefault seccomp profile and no API token', () => {
    expect(pod.securityContext).toEqual({ runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000, seccompProfile: { type: 'RuntimeDefault' } });
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.enableServiceLinks).toBe(false);
  });

  it('runs the environment container as uid 1000 without privilege escalation or capabilities', () => {
    expect(main.name).toBe('environment');
    expect(main.image).toBe('golang:1.23-bookworm');
    expect(main.command).toEqual(['/bin/sh', '/opt/devpocket/startup.sh']);
    expect(main.workingDir).toBe(HOME_DIR);
    expect(main.securityContext).toEqual({ runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
  });

  it('runs only the setup init container as root, still without privilege escalation', () => {
    expect(setup.name).toBe('setup');
    expect(setup.image).toBe('golang:1.23-bookworm');
    expect(setup.command).toEqual(['/bin/sh', '/opt/devpocket/setup-root.sh']);
    expect(setup.securityContext).toEqual({ runAsNonRoot: false, runAsUser: 0, runAsGroup: 0, allowPrivilegeEscalation: false });
  });

  it('sets requests and limits from the plan on both containers', () => {
    const resources = { requests: { cpu: '500m', memory: '1Gi' }, limits: { cpu: '500m', memory: '1Gi' } };
    expect(main.resources).toEqual(resources);
    expect(setup.resources).toEqual(resources);
  });

  it('mounts the volume as the home directory and the scripts read-only', () => {
    const mounts = [
      { name: 'home', mountPath: '/home/devpocket' },
      { name: 'scripts', mountPath: '/opt/devpocket', readOnly: true },
    ];
    expect(main.volumeMounts).toEqual(mounts);
    expect(setup.volumeMounts).toEqual(mounts);
    expect(pod.volumes).toEqual([
      { name: 'home', persistentVolumeClaim: { claimName: `dp-${ENV_ID}` } },
      { name: 'scripts', configMap: { name: `dp-${ENV_ID}`, defaultMode: 0o555 } },
    ]);
  });

  it('is ready when startup.sh has touched its ready file, probed every 2 s', () => {
    expect(main.readinessProbe).toEqual({ exec: { command: ['test', '-f', '/home/devpocket/.devpocket/ready'] }, periodSeconds: 2, failureThreshold: 1, successThreshold: 1 });
  });

  it('sets the template variables literally, after dropping the ones the driver owns', () => {
    const env = Object.fromEntries((main.env ?? []).map((entry) => [entry.name, entry.value]));
    expect(env).toEqual({
      CGO_ENABLED: '0',
      EDITOR: 'nano',
      GREETING: 'cost $$(HOME) $$$$5',
      HOME: '/home/devpocket',
      USER: 'devpocket',
      LOGNAME: 'devpocket',
      LANG: 'C.UTF-8',
      LD_LIBRARY_PATH: '/home/devpocket/.devpocket/lib',
      TERMINFO_DIRS: '/home/devpocket/.devpocket/terminfo:',
    });
    expect(main.env?.filter((entry) => entry.name === 'HOME')).toHaveLength(1);
    expect(main.ports).toEqual([{ name: 'app', containerPort: 8080, protocol: 'TCP' }]);
  });

  it('rejects an image reference that is not one', () => {
    for (const image of ['', 'Ubuntu:24.04', 'ubuntu 24.04', 'ubuntu:', 'registry.example.com//x']) {
      expect(invalid(() => buildStatefulSet(spec({ image }), { replicas: 0 })).problems).toEqual([
        `spec.template.spec.containers[0].image ${JSON.stringify(image)} is not a valid image reference`,
      ]);
    }
    for (const image of ['does-not-exist', 'ghcr.io/devpocket/base:1.0', 'localhost:5000/a/b_c:v1', `alpine@sha256:${'a'.repeat(64)}`]) {
      expect(() => buildStatefulSet(spec({ image }), { replicas: 0 })).not.toThrow();
    }
  });

  it('rejects a cpu or memory that is not a quantity', () => {
    const error = invalid(() => buildStatefulSet(spec({ resources: { cpu: 'half a core', memory: '1Gi', storage: '5Gi' } }), { replicas: 0 }));
    expect(error.kind).toBe('StatefulSet');
    expect(error.message).toMatch(/resources\.limits\.cpu must match format "quantity"/);
  });

  it('rejects a variable name a container cannot have', () => {
    expect(invalid(() => buildStatefulSet(spec({ environmentVariables: { 'BAD=NAME': 'x' } }), { replicas: 0 })).problems).toEqual([
      'environment variable name "BAD=NAME" is not valid',
    ]);
  });
});

describe('buildConfigMap', () => {
  const configMap = buildConfigMap(spec());
  const startup = configMap.data!['startup.sh'];
  const setup = configMap.data!['setup-root.sh'];

  it('holds the two scripts, labelled as the environment', () => {
    expect(configMap.metadata?.labels).toEqual(expectedLabels);
    expect(Object.keys(configMap.data ?? {}).sort()).toEqual(['setup-root.sh', 'startup.sh']);
  });

  it('has setup-root.sh install tmux with the package manager the image has, then copy it and its libraries onto the volume', () => {
    for (const install of ['apt-get install', 'apk add', 'dnf install', 'microdnf install', 'yum install']) expect(setup).toContain(install);
    expect(setup).toContain('chown 1000:1000 "/home/devpocket"');
    expect(setup).toContain('cp -f "$tmux_path" "/home/devpocket/.devpocket/bin/tmux"');
    expect(setup).toContain('ldd "$tmux_path"');
  });

  it('quotes each startup command for sh', () => {
    expect(startup).toContain(`run_startup_command 1 2 'touch "$HOME/ran-once"'`);
    expect(startup).toContain(`run_startup_command 2 2 'echo '\\''it'\\'''\\''s'\\'' >> "$HOME/quotes"'`);
  });
});

/**
 * startup.sh run for real with /bin/sh, its /home/devpocket replaced by a temporary directory:
 * what the container would do, minus the image.
 */
describe('startup.sh', () => {
  let home: string;

  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'devpocket-startup-'));
  });

  afterAll(async () => {
    await rm(home, { recursive: true, force: true });
  });

  /** Runs the script until it prints `devpocket: ready` (or exits), then sends SIGTERM; resolves with its output and exit code. */
  function run(commands: string[]): Promise<{ output: string; code: number | null }> {
    const script = buildConfigMap(spec({ startupCommands: commands })).data!['startup.sh'].replaceAll(HOME_DIR, home);
    return new Promise((resolve, reject) => {
      const child = spawn('/bin/sh', ['-c', script], { env: { PATH: process.env.PATH, HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      let stopping = false;
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`startup.sh did not get ready: ${output}`));
      }, 10_000);
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString('utf8');
        if (!stopping && output.includes('devpocket: ready\n')) {
          stopping = true;
          child.kill('SIGTERM');
        }
      });
      child.stderr.on('data', (chunk: Buffer) => {
        output += chunk.toString('utf8');
      });
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ output, code });
      });
    });
  }

  it('runs the startup commands once, marks readiness, and exits 0 on SIGTERM', async () => {
    const commands = ['echo run >> "$HOME/count"', `printf '%s\\n' "it's $HOME" > "$HOME/quoted"`];
    const first = await run(commands);
    expect(first.code).toBe(0);
    expect(first.output).toContain('devpocket: [3/4] running startup commands');
    expect(first.output).toContain('devpocket: startup commands done (2)');
    expect(first.output).toMatch(/devpocket: \[4\/4\] starting\ndevpocket: ready\n/);
    expect(await readFile(join(home, 'quoted'), 'utf8')).toBe(`it's ${home}\n`);
    expect((await stat(join(home, '.devpocket', 'startup-done'))).isFile()).toBe(true);
    expect(await readFile(join(home, '.devpocket', 'tmux.conf'), 'utf8')).toContain('set -g status off');

    const second = await run(commands);
    expect(second.output).toContain('devpocket: startup commands already ran');
    expect(await readFile(join(home, 'count'), 'utf8')).toBe('run\n');
    // SIGTERM removed the ready file: a stopped container is not ready.
    await expect(stat(join(home, '.devpocket', 'ready'))).rejects.toThrow(/ENOENT/);
  });

  it('reports a failed startup command, still gets ready, and runs it again at the next start', async () => {
    const dir = join(home, 'failing');
    const script = [`mkdir -p ${dir} && echo try >> ${dir}/tries && exit 3`];
    await rm(join(home, '.devpocket', 'startup-done'), { force: true });
    const first = await run(script);
    expect(first.output).toContain('devpocket: startup command 1/1 failed with exit code 3');
    expect(first.output).toContain('devpocket: ready');
    await run(script);
    expect(await readFile(join(dir, 'tries'), 'utf8')).toBe('try\ntry\n');
  });
});
