import type { V1ConfigMap, V1EnvVar, V1Namespace, V1PersistentVolumeClaim, V1Service, V1StatefulSet } from '@kubernetes/client-node';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import { Service } from 'kubernetes-models/v1/Service';
import {
  ENVIRONMENT_CONTAINER,
  SETUP_CONTAINER,
  environmentLabels,
  environmentNames,
  environmentSelector,
  namespaceLabels,
  namespaceName,
  type EnvironmentNames,
} from './labels.js';
import {
  DEVPOCKET_LIB_DIR,
  DEVPOCKET_TERMINFO_DIR,
  DEVPOCKET_UID,
  HOME_DIR,
  READY_FILE,
  SCRIPTS_DIR,
  setupRootScript,
  startupScript,
} from './startup-scripts.js';

/** What the manifests of one environment are built from. */
export interface EnvironmentSpec {
  /** The environment's id (UUID). */
  environmentId: string;
  /** The owner's id (UUID). */
  userId: string;
  /** The template's name, recorded in an annotation. */
  templateName: string;
  /** The container image reference, e.g. `golang:1.23-bookworm`. */
  image: string;
  /** The TCP port the Service exposes (1–65535). */
  port: number;
  /** The template's environment variables, set literally (no `$(VAR)` expansion). */
  environmentVariables: Record<string, string>;
  /** The template's shell commands, run once by startup.sh. */
  startupCommands: string[];
  /** Kubernetes quantities: `cpu` (e.g. `500m`) and `memory` (e.g. `1Gi`) are both requests and limits; `storage` is the PVC size. */
  resources: { cpu: string; memory: string; storage: string };
  /** The PVC's StorageClass; undefined = the cluster's default. */
  storageClassName?: string;
}

/** A manifest that fails validation, before it is sent; `problems` lists each, with its JSON path. */
export class InvalidManifestError extends Error {
  constructor(
    readonly kind: string,
    readonly problems: string[],
  ) {
    super(`Invalid ${kind} manifest: ${problems.join('; ')}`);
    this.name = 'InvalidManifestError';
  }
}

/** `devpocket.io/template`: the template an environment was created from. */
export const TEMPLATE_ANNOTATION = 'devpocket.io/template';

/** Variables the driver sets itself; a template's value for them is dropped. */
export const RESERVED_VARIABLES: ReadonlySet<string> = new Set(['HOME', 'USER', 'LOGNAME', 'LD_LIBRARY_PATH', 'TERMINFO_DIRS', 'TMUX', 'TMUX_PANE']);

/** Grace period of the environment's pod: startup.sh exits on SIGTERM at once. */
const TERMINATION_GRACE_SECONDS = 10;

/**
 * The Pod Security Admission level the environments' pods need: `baseline`, because the `setup`
 * init container runs as root (https://kubernetes.io/docs/concepts/security/pod-security-standards/);
 * on a cluster that enforces `restricted` by default the pods would otherwise never be created.
 */
export const POD_SECURITY_LABELS: Readonly<Record<string, string>> = { 'pod-security.kubernetes.io/enforce': 'baseline' };

/**
 * The namespace of a user: `devpocket-<8 hex>`, labelled name, managed-by and user id, and the
 * Pod Security level its pods need ({@link POD_SECURITY_LABELS}).
 * @throws InvalidManifestError when it does not validate.
 */
export function buildNamespace(userId: string): V1Namespace {
  const manifest: V1Namespace = {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: namespaceName(userId), labels: { ...namespaceLabels(userId), ...POD_SECURITY_LABELS } },
  };
  return validated(Namespace, 'Namespace', manifest, [dnsLabelProblem('metadata.name', manifest.metadata?.name)]);
}

/**
 * The environment's volume, mounted as the home directory: ReadWriteOnce, `resources.storage`
 * requested, the configured StorageClass (none = the cluster's default).
 * @throws InvalidManifestError on a bad quantity or StorageClass name.
 */
export function buildPersistentVolumeClaim(spec: EnvironmentSpec): V1PersistentVolumeClaim {
  const names = environmentNames({ id: spec.environmentId, userId: spec.userId });
  const manifest: V1PersistentVolumeClaim = {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: metadata(spec, names),
    spec: {
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: spec.resources.storage } },
      ...(spec.storageClassName === undefined ? {} : { storageClassName: spec.storageClassName }),
    },
  };
  const problems = [dnsLabelProblem('metadata.name', names.name)];
  if (spec.storageClassName !== undefined) problems.push(dnsSubdomainProblem('spec.storageClassName', spec.storageClassName));
  return validated(PersistentVolumeClaim, 'PersistentVolumeClaim', manifest, problems);
}

/**
 * The ConfigMap mounted read-only at /opt/devpocket: `setup-root.sh` and `startup.sh`
 * (see startup-scripts.ts), the latter with the template's startup commands.
 * @throws InvalidManifestError when it does not validate.
 */
export function buildConfigMap(spec: EnvironmentSpec): V1ConfigMap {
  const names = environmentNames({ id: spec.environmentId, userId: spec.userId });
  const manifest: V1ConfigMap = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: metadata(spec, names),
    data: {
      'setup-root.sh': setupRootScript(),
      'startup.sh': startupScript(spec.startupCommands),
    },
  };
  return validated(ConfigMap, 'ConfigMap', manifest, [dnsLabelProblem('metadata.name', names.name)]);
}

/**
 * The environment's StatefulSet of `replicas` (0 or 1) pods running the template's image:
 * - pod: runAsNonRoot, uid/gid/fsGroup 1000, seccomp RuntimeDefault, no service account token,
 *   no service links; the PVC at /home/devpocket, the ConfigMap read-only at /opt/devpocket;
 * - init container `setup`, the same image as root (the one exception) with no privilege
 *   escalation, runs setup-root.sh (volume ownership, tmux);
 * - container `environment` runs startup.sh as uid 1000, no privilege escalation, every
 *   capability dropped, requests = limits = `resources.cpu`/`memory`, HOME/USER set, the
 *   template's variables (escaped so Kubernetes does not expand `$(VAR)`), the template's port,
 *   and a readiness probe `test -f /home/devpocket/.devpocket/ready` every 2 s.
 * @throws InvalidManifestError on a bad image reference, port, variable name or quantity.
 */
export function buildStatefulSet(spec: EnvironmentSpec, options: { replicas: number }): V1StatefulSet {
  const names = environmentNames({ id: spec.environmentId, userId: spec.userId });
  const labels = environmentLabels({ id: spec.environmentId, userId: spec.userId });
  const resources = { requests: { cpu: spec.resources.cpu, memory: spec.resources.memory }, limits: { cpu: spec.resources.cpu, memory: spec.resources.memory } };
  const mounts = [
    { name: 'home', mountPath: HOME_DIR },
    { name: 'scripts', mountPath: SCRIPTS_DIR, readOnly: true },
  ];
  const manifest: V1StatefulSet = {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { ...metadata(spec, names), annotations: { [TEMPLATE_ANNOTATION]: spec.templateName } },
    spec: {
      replicas: options.replicas,
      serviceName: names.name,
      // One pod: Parallel lets a scale to 0 remove a pod that never became ready.
      podManagementPolicy: 'Parallel',
      revisionHistoryLimit: 2,
      selector: { matchLabels: environmentSelector(spec.environmentId) },
      template: {
        metadata: { labels, annotations: { [TEMPLATE_ANNOTATION]: spec.templateName } },
        spec: {
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          terminationGracePeriodSeconds: TERMINATION_GRACE_SECONDS,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: DEVPOCKET_UID,
            runAsGroup: DEVPOCKET_UID,
            fsGroup: DEVPOCKET_UID,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          initContainers: [
            {
              name: SETUP_CONTAINER,
              image: spec.image,
              command: ['/bin/sh', `${SCRIPTS_DIR}/setup-root.sh`],
              // The one root process of the pod, and only before the user's container starts: it
              // chowns the volume and installs tmux with the image's package manager, which needs
              // root (and the default capabilities: CHOWN, SETUID/SETGID for apt's sandbox user).
              securityContext: { runAsNonRoot: false, runAsUser: 0, runAsGroup: 0, allowPrivilegeEscalation: false },
              resources,
              volumeMounts: mounts,
            },
          ],
          containers: [
            {
              name: ENVIRONMENT_CONTAINER,
              image: spec.image,
              command: ['/bin/sh', `${SCRIPTS_DIR}/startup.sh`],
              workingDir: HOME_DIR,
              env: environmentVariables(spec.environmentVariables),
              ports: [{ name: 'app', containerPort: spec.port, protocol: 'TCP' }],
              securityContext: {
                runAsNonRoot: true,
                runAsUser: DEVPOCKET_UID,
                runAsGroup: DEVPOCKET_UID,
                allowPrivilegeEscalation: false,
                capabilities: { drop: ['ALL'] },
              },
              resources,
              volumeMounts: mounts,
              readinessProbe: { exec: { command: ['test', '-f', READY_FILE] }, periodSeconds: 2, failureThreshold: 1, successThreshold: 1 },
            },
          ],
          volumes: [
            { name: 'home', persistentVolumeClaim: { claimName: names.name } },
            { name: 'scripts', configMap: { name: names.name, defaultMode: 0o555 } },
          ],
        },
      },
    },
  };
  const problems = [
    dnsLabelProblem('metadata.name', names.name),
    imageProblem('spec.template.spec.containers[0].image', spec.image),
    portProblem('spec.template.spec.containers[0].ports[0].containerPort', spec.port),
    replicasProblem(options.replicas),
    ...Object.keys(spec.environmentVariables).map((name) => variableNameProblem(name)),
  ];
  return validated(StatefulSet, 'StatefulSet', manifest, problems);
}

/**
 * The environment's ClusterIP Service: port `app` = the template's port, to the pod.
 * @throws InvalidManifestError on a port outside 1–65535.
 */
export function buildService(spec: EnvironmentSpec): V1Service {
  const names = environmentNames({ id: spec.environmentId, userId: spec.userId });
  const manifest: V1Service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: metadata(spec, names),
    spec: {
      type: 'ClusterIP',
      selector: environmentSelector(spec.environmentId),
      ports: [{ name: 'app', port: spec.port, targetPort: spec.port, protocol: 'TCP' }],
    },
  };
  return validated(Service, 'Service', manifest, [dnsLabelProblem('metadata.name', names.name), portProblem('spec.ports[0].port', spec.port)]);
}

/**
 * The main container's variables: the template's (reserved names dropped, `$` doubled so that
 * Kubernetes' `$(VAR)` expansion leaves the value as written), then HOME, USER, LOGNAME, LANG,
 * LD_LIBRARY_PATH and TERMINFO_DIRS. PATH is left to the image (its PATH holds e.g.
 * /usr/local/go/bin); terminals put /home/devpocket/.devpocket/bin first themselves.
 */
function environmentVariables(template: Record<string, string>): V1EnvVar[] {
  const fromTemplate = Object.entries(template)
    .filter(([name]) => !RESERVED_VARIABLES.has(name))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => ({ name, value: value.replaceAll('$', '$$$$') }));
  const hasLang = 'LANG' in template;
  return [
    ...fromTemplate,
    { name: 'HOME', value: HOME_DIR },
    { name: 'USER', value: 'devpocket' },
    { name: 'LOGNAME', value: 'devpocket' },
    ...(hasLang ? [] : [{ name: 'LANG', value: 'C.UTF-8' }]),
    { name: 'LD_LIBRARY_PATH', value: DEVPOCKET_LIB_DIR },
    // The empty last entry stands for ncurses' compiled-in directories.
    { name: 'TERMINFO_DIRS', value: `${DEVPOCKET_TERMINFO_DIR}:` },
  ];
}

function metadata(spec: EnvironmentSpec, names: EnvironmentNames): { name: string; namespace: string; labels: Record<string, string> } {
  return { name: names.name, namespace: names.namespace, labels: environmentLabels({ id: spec.environmentId, userId: spec.userId }) };
}

type ModelClass = new (data: never) => { validate(): void };

/**
 * Validates `manifest` against the official OpenAPI schema (kubernetes-models) plus the checks
 * the schema does not make (`extra`: names, image, port), and returns it as plain JSON.
 */
function validated<T extends object>(Model: ModelClass, kind: string, manifest: T, extra: Array<string | undefined>): T {
  const problems = extra.filter((problem): problem is string => problem !== undefined);
  // What goes on the wire is JSON; client-node's and kubernetes-models' typings differ (Date vs string).
  const json = JSON.parse(JSON.stringify(manifest)) as T;
  try {
    new Model(json as never).validate();
  } catch (error) {
    problems.push(...schemaProblems(error));
  }
  if (problems.length > 0) throw new InvalidManifestError(kind, problems);
  return json;
}

/** ajv's errors, one per JSON path, preferring the most telling keyword (format, pattern, …). */
function schemaProblems(error: unknown): string[] {
  const errors = typeof error === 'object' && error !== null && 'errors' in error && Array.isArray(error.errors) ? (error.errors as AjvError[]) : [];
  if (errors.length === 0) return [error instanceof Error ? error.message : String(error)];
  const byPath = new Map<string, AjvError>();
  const rank = (item: AjvError): number => (['format', 'pattern', 'enum', 'required', 'minimum', 'maximum'].includes(item.keyword ?? '') ? 0 : item.keyword === 'oneOf' ? 2 : 1);
  for (const item of errors) {
    const path = item.instancePath || '/';
    const known = byPath.get(path);
    if (!known || rank(item) < rank(known)) byPath.set(path, item);
  }
  return [...byPath].map(([path, item]) => `${path.replace(/^\//, '').replaceAll('/', '.') || '(root)'} ${item.message ?? 'is invalid'}`);
}

interface AjvError {
  instancePath?: string;
  keyword?: string;
  message?: string;
}

const DNS_LABEL = /^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*$/;

function dnsLabelProblem(path: string, value: string | undefined): string | undefined {
  return value !== undefined && DNS_LABEL.test(value) ? undefined : `${path} ${JSON.stringify(value)} is not a DNS-1123 label`;
}

function dnsSubdomainProblem(path: string, value: string): string | undefined {
  return DNS_SUBDOMAIN.test(value) ? undefined : `${path} ${JSON.stringify(value)} is not a DNS-1123 subdomain`;
}

/**
 * An image reference in the grammar of distribution/reference: `[host[:port]/]path[:tag][@digest]`,
 * path components lower case.
 */
const IMAGE_REFERENCE = new RegExp(
  '^' +
    '(?:(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\\.(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?))*(?::[0-9]+)?/)?' +
    '[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*' +
    '(?:/[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*)*' +
    '(?::[\\w][\\w.-]{0,127})?' +
    '(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?' +
    '$',
);

function imageProblem(path: string, image: string): string | undefined {
  if (image.length > 0 && image.length <= 4096 && IMAGE_REFERENCE.test(image)) return undefined;
  return `${path} ${JSON.stringify(image)} is not a valid image reference`;
}

function portProblem(path: string, port: number): string | undefined {
  return Number.isInteger(port) && port >= 1 && port <= 65535 ? undefined : `${path} ${port} is not a port number (1-65535)`;
}

function replicasProblem(replicas: number): string | undefined {
  return replicas === 0 || replicas === 1 ? undefined : `spec.replicas ${replicas} is not 0 or 1`;
}

function variableNameProblem(name: string): string | undefined {
  return /^[A-Za-z_][A-Za-z0-9_.-]*$/.test(name) ? undefined : `environment variable name ${JSON.stringify(name)} is not valid`;
}
