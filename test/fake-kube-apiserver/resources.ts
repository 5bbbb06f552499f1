/**
 * The kinds this fake serves and the discovery documents that describe them (`/api`, `/apis`,
 * `/api/v1`, `/apis/apps`, `/apis/apps/v1`), shaped like kube-apiserver 1.31's answers so that
 * `KubernetesObjectApi` (which resolves a kind to its plural through discovery) works.
 */
import type { QualifiedResource } from './status.js';

/** Which name rule `metadata.name` must follow (apimachinery `ValidateNameFunc`). */
export type NameRule = 'dns1123-subdomain' | 'dns1123-label' | 'dns1035-label';

/** One served resource: kind, plural, group/version, scope, name rule and subresources. */
export interface ResourceType {
  kind: string;
  listKind: string;
  /** Lower-case plural, the path segment (`pods`). */
  plural: string;
  singular: string;
  /** `''` for the core group. */
  group: string;
  version: string;
  namespaced: boolean;
  nameRule: NameRule;
  shortNames: string[];
  /** Subresources served besides the object itself (`status`, `scale`, `log`, `exec`). */
  subresources: string[];
  /** Whether DELETE answers the object (`Store.ReturnDeletedObject`) rather than a Success Status. */
  returnsDeletedObject: boolean;
}

const VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

/** Every kind the fake serves, by kind. */
export const RESOURCE_TYPES: readonly ResourceType[] = [
  { kind: 'Namespace', listKind: 'NamespaceList', plural: 'namespaces', singular: 'namespace', group: '', version: 'v1', namespaced: false, nameRule: 'dns1123-label', shortNames: ['ns'], subresources: ['status'], returnsDeletedObject: true },
  { kind: 'ConfigMap', listKind: 'ConfigMapList', plural: 'configmaps', singular: 'configmap', group: '', version: 'v1', namespaced: true, nameRule: 'dns1123-subdomain', shortNames: ['cm'], subresources: [], returnsDeletedObject: false },
  { kind: 'Service', listKind: 'ServiceList', plural: 'services', singular: 'service', group: '', version: 'v1', namespaced: true, nameRule: 'dns1035-label', shortNames: ['svc'], subresources: ['status'], returnsDeletedObject: true },
  { kind: 'PersistentVolumeClaim', listKind: 'PersistentVolumeClaimList', plural: 'persistentvolumeclaims', singular: 'persistentvolumeclaim', group: '', version: 'v1', namespaced: true, nameRule: 'dns1123-subdomain', shortNames: ['pvc'], subresources: ['status'], returnsDeletedObject: false },
  { kind: 'Pod', listKind: 'PodList', plural: 'pods', singular: 'pod', group: '', version: 'v1', namespaced: true, nameRule: 'dns1123-subdomain', shortNames: ['po'], subresources: ['status', 'log', 'exec'], returnsDeletedObject: true },
  { kind: 'StatefulSet', listKind: 'StatefulSetList', plural: 'statefulsets', singular: 'statefulset', group: 'apps', version: 'v1', namespaced: true, nameRule: 'dns1123-subdomain', shortNames: ['sts'], subresources: ['status', 'scale'], returnsDeletedObject: false },
];

/** The resource type of a kind (`'Pod'`), or undefined. */
export function typeByKind(kind: string): ResourceType | undefined {
  return RESOURCE_TYPES.find((t) => t.kind === kind);
}

/** The resource type served at `group`/`plural`, or undefined. */
export function typeByPlural(group: string, plural: string): ResourceType | undefined {
  return RESOURCE_TYPES.find((t) => t.group === group && t.plural === plural);
}

/** `v1` or `apps/v1`: the apiVersion of objects of this type. */
export function apiVersionOf(type: ResourceType): string {
  return type.group ? `${type.group}/${type.version}` : type.version;
}

/** The group-qualified resource used in Status messages. */
export function qualified(type: ResourceType): QualifiedResource {
  return { group: type.group, resource: type.plural };
}

/** `kube-apiserver --version` of this fake, served at `/version`. */
export const VERSION_INFO = {
  major: '1',
  minor: '31',
  gitVersion: 'v1.31.0-fake',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2024-08-13T07:28:49Z',
  goVersion: 'go1.22.5',
  compiler: 'gc',
  platform: 'linux/amd64',
};

/** `GET /api`: the core group's versions (`APIVersions`). */
export function coreVersions(serverAddress: string): object {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
}

/** `GET /apis/apps`: the apps group (`APIGroup`). */
export function appsGroup(): object {
  const version = { groupVersion: 'apps/v1', version: 'v1' };
  return { kind: 'APIGroup', apiVersion: 'v1', name: 'apps', versions: [version], preferredVersion: version };
}

/** `GET /apis`: the named groups (`APIGroupList`); only `apps` is served. */
export function groupList(): object {
  const { kind: _kind, apiVersion: _apiVersion, ...apps } = appsGroup() as Record<string, unknown>;
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: [apps] };
}

/** `GET /api/v1` or `GET /apis/apps/v1`: an `APIResourceList` of the served resources and subresources. */
export function resourceList(group: string): object {
  const resources: object[] = [];
  for (const type of RESOURCE_TYPES.filter((t) => t.group === group)) {
    resources.push({ name: type.plural, singularName: type.singular, namespaced: type.namespaced, kind: type.kind, verbs: VERBS, shortNames: type.shortNames, storageVersionHash: '' });
    for (const sub of type.subresources) {
      const entry: Record<string, unknown> = { name: `${type.plural}/${sub}`, singularName: '', namespaced: type.namespaced, kind: type.kind, verbs: ['get', 'patch', 'update'] };
      if (sub === 'scale') Object.assign(entry, { group: 'autoscaling', version: 'v1', kind: 'Scale' });
      if (sub === 'log') entry.verbs = ['get'];
      if (sub === 'exec') Object.assign(entry, { kind: 'PodExecOptions', verbs: ['create', 'get'] });
      resources.push(entry);
    }
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: group ? `${group}/v1` : 'v1', resources };
}
