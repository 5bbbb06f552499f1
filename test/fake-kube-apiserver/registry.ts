/**
 * The REST storage of the served kinds (kube-apiserver's `genericregistry.Store` plus each kind's
 * strategy): create, get, list, update, patch, delete, deletecollection and the `status` and
 * `scale` subresources, over an {@link ObjectStore}. Both the HTTP layer and the simulated
 * controllers go through it, so a controller's writes meet the same rules as a client's.
 *
 * What each operation mirrors:
 * - create: decoding checks (apiVersion/kind/namespace of the body), `generateName`, defaulting,
 *   namespace lifecycle admission (404 when the namespace is missing, 403 `NamespaceTerminating`
 *   while it is being deleted), validation (422 Invalid with causes), 409 AlreadyExists, the
 *   etcd check "resourceVersion should not be set on objects to be created" (500), and the
 *   server-owned fields (`uid`, `creationTimestamp`, `generation`, initial `status`, Service
 *   `clusterIP`, the PVC's `kubernetes.io/pvc-protection` finalizer);
 * - update/patch: 400 when name/namespace disagree with the URL, 409 Conflict on a stale
 *   `resourceVersion` or `uid`, status preserved (only the `status` subresource changes it),
 *   immutable fields (422), `generation` bumped on spec changes, no-op writes not stored;
 * - delete: `preconditions`, graceful pod deletion (`deletionTimestamp` +
 *   `deletionGracePeriodSeconds`, removed by the kubelet), finalizers (PVC protection, namespace
 *   `kubernetes`, `foregroundDeletion`/`orphan` for `propagationPolicy`), protected namespaces,
 *   409 for a namespace already terminating, and the answer: the object for pods, services and
 *   namespaces (`ReturnDeletedObject`) or while finalizers hold it, a `Success` Status otherwise;
 * - list: label/field selectors, `limit`/`continue` (over the current state, not a snapshot).
 */
import { randomUUID } from 'node:crypto';
import { applyDefaults } from './defaults.js';
import { kubeTime, qosClass } from './kubelet.js';
import { applyJsonPatch, decodeJsonPatch, mergePatch, PatchApplyError, PatchDecodeError, strategicMergePatch } from './patch.js';
import { apiVersionOf, qualified, typeByKind, type ResourceType } from './resources.js';
import { matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector } from './selectors.js';
import {
  alreadyExists,
  ApiStatusError,
  badRequest,
  conflict,
  deleteSuccess,
  failure,
  forbidden,
  invalid,
  notFound,
  OPTIMISTIC_LOCK_MESSAGE,
  type StatusBody,
} from './status.js';
import { cloneJson, type ObjectStore } from './store.js';
import { validateObjectMeta, validateSpec, validateUpdate } from './validation.js';

/** Namespaces that exist from the start and may not be deleted. */
export const SYSTEM_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];
const UNDELETABLE_NAMESPACES = ['default', 'kube-system', 'kube-public'];

/** The finalizer kube-apiserver puts on every PVC (`kubernetes.io/pvc-protection`). */
export const PVC_PROTECTION = 'kubernetes.io/pvc-protection';

/** Options of a write (the `dryRun` query parameter). */
export interface WriteOptions {
  dryRun?: boolean;
}

/** Options of a delete: query parameters and the `DeleteOptions` body merged. */
export interface DeleteOptions extends WriteOptions {
  gracePeriodSeconds?: number;
  propagationPolicy?: 'Foreground' | 'Background' | 'Orphan';
  preconditions?: { uid?: string; resourceVersion?: string };
}

/** Options of a list. */
export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
}

/** The patch content types kube-apiserver accepts. */
export const PATCH_TYPES = ['application/json-patch+json', 'application/merge-patch+json', 'application/strategic-merge-patch+json', 'application/apply-patch+yaml'];

const GENERATE_NAME_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** `errors.NewInternalError`. */
function internalError(message: string): StatusBody {
  return failure(500, 'InternalError', `Internal error occurred: ${message}`, { causes: [{ message }] });
}

/** 422 of `applyJSPatch` (`NewGenericServerResponse(422, ...)`): the patch did not apply. */
function patchNotApplied(message: string): StatusBody {
  return failure(422, 'Invalid', 'the server rejected our request due to an error in our request', { causes: [{ reason: 'UnexpectedServerResponse', message }] });
}

/** See the module comment. */
export class Registry {
  private nextClusterIP = 10;

  constructor(private readonly store: ObjectStore) {}

  /** The object or 404 NotFound. */
  get(type: ResourceType, namespace: string | undefined, name: string): any {
    const object = this.store.get(type.kind, namespace, name);
    if (!object) throw new ApiStatusError(notFound(qualified(type), name));
    return withTypeMeta(type, object);
  }

  /**
   * A `<Kind>List` of the matching objects (items without kind/apiVersion, as the server sends
   * them), `metadata.resourceVersion` the store's current one, paginated with `limit`/`continue`.
   */
  list(type: ResourceType, namespace: string | undefined, options: ListOptions): any {
    const labels = parseLabelSelector(options.labelSelector);
    const fields = parseFieldSelector(options.fieldSelector, type.kind);
    let items = this.store.list(type.kind, namespace).filter((o) => matchesLabels(labels, o.metadata.labels) && matchesFields(fields, o));
    const metadata: Record<string, unknown> = { resourceVersion: String(this.store.currentRV()) };
    if (options.continue) {
      const token = decodeContinue(options.continue);
      if (token.rv < this.store.oldestRV()) {
        throw new ApiStatusError(failure(410, 'Expired', 'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.'));
      }
      items = items.filter((o) => `${o.metadata.namespace ?? ''}/${o.metadata.name}` > token.start);
    }
    if (options.limit && options.limit > 0 && items.length > options.limit) {
      const last = items[options.limit - 1];
      metadata.continue = Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv: this.store.currentRV(), start: `${last.metadata.namespace ?? ''}/${last.metadata.name}` })).toString('base64');
      metadata.remainingItemCount = items.length - options.limit;
      items = items.slice(0, options.limit);
    }
    return { kind: type.listKind, apiVersion: apiVersionOf(type), metadata, items };
  }

  /** Creates an object posted to the collection of `type` in `namespace`; returns it as stored. */
  create(type: ResourceType, namespace: string | undefined, body: any, options: WriteOptions = {}): any {
    const object = this.decode(type, namespace, body);
    if (!object.metadata.name && object.metadata.generateName) {
      let suffix = '';
      for (let i = 0; i < 5; i++) suffix += GENERATE_NAME_ALPHABET[Math.floor(Math.random() * GENERATE_NAME_ALPHABET.length)];
      object.metadata.name = `${object.metadata.generateName}${suffix}`;
    }
    const name: string = object.metadata.name ?? '';
    applyDefaults(type.kind, object, true);
    if (type.namespaced) this.admitNamespace(type, namespace as string, name);
    const errors = [...validateObjectMeta(type, object.metadata), ...validateSpec(type, object)];
    if (errors.length > 0) throw new ApiStatusError(invalid(type.kind, type.group, name, errors));
    if (object.metadata.resourceVersion) throw new ApiStatusError(internalError('resourceVersion should not be set on objects to be created'));
    if (this.store.get(type.kind, namespace, name)) throw new ApiStatusError(alreadyExists(qualified(type), name));

    object.metadata.uid = randomUUID();
    object.metadata.creationTimestamp = kubeTime();
    delete object.metadata.deletionTimestamp;
    delete object.metadata.deletionGracePeriodSeconds;
    delete object.metadata.managedFields;
    this.initialize(type, object);
    if (options.dryRun) return withTypeMeta(type, object);
    return withTypeMeta(type, this.store.create(type.kind, object));
  }

  /** PUT of the object (or of its `status` subresource); returns the stored result. */
  update(type: ResourceType, namespace: string | undefined, name: string, body: any, options: WriteOptions & { subresource?: 'status' } = {}): any {
    const current = this.get(type, namespace, name);
    const next = this.decode(type, namespace, body);
    return this.commit(type, current, next, options);
  }

  /**
   * PATCH with one of {@link PATCH_TYPES}. `application/apply-patch+yaml` (server-side apply) is
   * approximated: create when missing, otherwise a strategic merge of the applied configuration
   * (no field ownership); it needs `fieldManager` like the real server.
   */
  patch(type: ResourceType, namespace: string | undefined, name: string, contentType: string, patch: unknown, options: WriteOptions & { subresource?: 'status'; fieldManager?: string } = {}): any {
    if (contentType === 'application/apply-patch+yaml') {
      if (!options.fieldManager) throw new ApiStatusError(invalid('PatchOptions', 'meta.k8s.io', '', [{ type: 'FieldValueRequired', field: 'fieldManager', detail: 'Required value: is required for apply patch' }]));
      if (!this.store.get(type.kind, namespace, name)) {
        const body = { ...(patch as object) } as any;
        body.metadata = { ...(body.metadata ?? {}), name };
        return { created: true, object: this.create(type, namespace, body, options) };
      }
    }
    const current = this.get(type, namespace, name);
    const next = applyPatch(contentType, current, patch);
    return { created: false, object: this.commit(type, current, this.decode(type, namespace, next), options) };
  }

  /** The `autoscaling/v1` Scale of a StatefulSet. */
  getScale(type: ResourceType, namespace: string, name: string): any {
    return scaleOf(this.get(type, namespace, name));
  }

  /** PUT or PATCH (already applied by the caller to {@link getScale}) of a Scale: sets `spec.replicas`; returns the new Scale. */
  updateScale(type: ResourceType, namespace: string, name: string, scale: any, options: WriteOptions = {}): any {
    const current = this.get(type, namespace, name);
    const rv = scale?.metadata?.resourceVersion;
    if (rv && rv !== current.metadata.resourceVersion) throw new ApiStatusError(conflict(qualified(type), name, OPTIMISTIC_LOCK_MESSAGE));
    const replicas = scale?.spec?.replicas ?? 0;
    if (!Number.isInteger(replicas) || replicas < 0) {
      throw new ApiStatusError(invalid('Scale', 'autoscaling', name, [{ type: 'FieldValueInvalid', field: 'spec.replicas', detail: `Invalid value: ${replicas}: must be greater than or equal to 0` }]));
    }
    const next = cloneJson(current);
    next.spec.replicas = replicas;
    return scaleOf(this.commit(type, current, next, options));
  }

  /** DELETE of one object; returns the HTTP body (the object or a `Success` Status). See the module comment. */
  delete(type: ResourceType, namespace: string | undefined, name: string, options: DeleteOptions = {}): any {
    const current = this.get(type, namespace, name);
    const qr = qualified(type);
    const pre = options.preconditions;
    if (pre?.uid && pre.uid !== current.metadata.uid) {
      throw new ApiStatusError(conflict(qr, name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${current.metadata.uid}`));
    }
    if (pre?.resourceVersion && pre.resourceVersion !== current.metadata.resourceVersion) {
      throw new ApiStatusError(conflict(qr, name, `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${current.metadata.resourceVersion}`));
    }
    const marked = (finalizers: string[], grace = 0) => {
      const next = cloneJson(current);
      next.metadata.deletionTimestamp ??= kubeTime(new Date(Date.now() + grace * 1000));
      next.metadata.deletionGracePeriodSeconds ??= grace;
      next.metadata.finalizers = [...new Set([...(next.metadata.finalizers ?? []), ...finalizers])];
      return next;
    };
    const commitMarked = (next: any) => (options.dryRun ? withTypeMeta(type, next) : withTypeMeta(type, this.store.update(type.kind, next)));

    if (type.kind === 'Namespace') {
      if (UNDELETABLE_NAMESPACES.includes(name)) throw new ApiStatusError(forbidden(qr, name, 'this namespace may not be deleted'));
      if (current.metadata.deletionTimestamp) {
        throw new ApiStatusError(conflict(qr, name, 'The system is ensuring all content is removed from this namespace.  Upon completion, this namespace will automatically be purged by the system.'));
      }
      // The namespace registry's own Delete: a deletionTimestamp and phase Terminating; the
      // `kubernetes` finalizer in spec.finalizers holds it until the namespace controller is done.
      const next = cloneJson(current);
      next.metadata.deletionTimestamp = kubeTime();
      next.status = { ...(next.status ?? {}), phase: 'Terminating' };
      return commitMarked(next);
    }
    if (current.metadata.deletionTimestamp) return current;

    if (type.kind === 'Pod') {
      const grace = options.gracePeriodSeconds ?? current.spec?.terminationGracePeriodSeconds ?? 30;
      const terminal = current.status?.phase === 'Succeeded' || current.status?.phase === 'Failed';
      if (grace > 0 && current.spec?.nodeName && !terminal) return commitMarked(marked([], grace));
    }
    const finalizers: string[] = [];
    if (type.kind === 'StatefulSet' && options.propagationPolicy === 'Foreground') finalizers.push('foregroundDeletion');
    if (type.kind === 'StatefulSet' && options.propagationPolicy === 'Orphan') finalizers.push('orphan');
    if (finalizers.length > 0 || (current.metadata.finalizers ?? []).length > 0) return commitMarked(marked(finalizers));

    if (options.dryRun) return type.returnsDeletedObject ? current : deleteSuccess(qr, name, current.metadata.uid);
    const last = this.store.remove(type.kind, namespace, name);
    return type.returnsDeletedObject ? withTypeMeta(type, last) : deleteSuccess(qr, name, current.metadata.uid);
  }

  /** DELETE of a collection: deletes each matching object; returns the list of what the deletes answered. */
  deleteCollection(type: ResourceType, namespace: string | undefined, list: ListOptions, options: DeleteOptions): any {
    const matching = this.list(type, namespace, { labelSelector: list.labelSelector, fieldSelector: list.fieldSelector });
    const items = matching.items.map((item: any) => {
      const result = this.delete(type, item.metadata.namespace, item.metadata.name, options);
      return result.kind === 'Status' ? item : result;
    });
    return { kind: type.listKind, apiVersion: apiVersionOf(type), metadata: { resourceVersion: String(this.store.currentRV()) }, items: items.map(stripTypeMeta) };
  }

  /**
   * Removes a finalizer a controller owns; the object is removed when it was the last one and
   * deletion was requested (what the real server does when a finalizer update empties the list).
   */
  removeFinalizer(type: ResourceType, namespace: string | undefined, name: string, finalizer: string): void {
    const current = this.store.get(type.kind, namespace, name);
    if (!current || !(current.metadata.finalizers ?? []).includes(finalizer)) return;
    const next = cloneJson(current);
    next.metadata.finalizers = next.metadata.finalizers.filter((f: string) => f !== finalizer);
    if (next.metadata.finalizers.length === 0) delete next.metadata.finalizers;
    this.commit(type, withTypeMeta(type, current), next, {});
  }

  /** Validates the body's apiVersion/kind/namespace against the URL; returns a working copy. */
  private decode(type: ResourceType, namespace: string | undefined, body: any): any {
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw new ApiStatusError(badRequest(`the body of the request was in an unknown format - accepted media types include: application/json, application/yaml`));
    const object = cloneJson(body);
    const apiVersion = apiVersionOf(type);
    if (object.apiVersion !== undefined && object.apiVersion !== apiVersion) {
      throw new ApiStatusError(badRequest(`the API version in the data (${object.apiVersion}) does not match the expected API version (${apiVersion})`));
    }
    if (object.kind !== undefined && object.kind !== type.kind) {
      throw new ApiStatusError(badRequest(`the kind in the data (${object.kind}) does not match the expected kind (${type.kind})`));
    }
    object.apiVersion = apiVersion;
    object.kind = type.kind;
    object.metadata ??= {};
    if (type.namespaced) {
      if (object.metadata.namespace && object.metadata.namespace !== namespace) {
        throw new ApiStatusError(badRequest('the namespace of the provided object does not match the namespace sent on the request'));
      }
      object.metadata.namespace = namespace;
    } else {
      delete object.metadata.namespace;
    }
    return object;
  }

  /** Namespace lifecycle admission: 404 when the namespace is missing, 403 while it terminates. */
  private admitNamespace(type: ResourceType, namespace: string, name: string): void {
    const ns = this.store.get('Namespace', undefined, namespace);
    if (!ns) throw new ApiStatusError(notFound({ group: '', resource: 'namespaces' }, namespace));
    if (ns.metadata.deletionTimestamp) {
      throw new ApiStatusError(
        forbidden(qualified(type), name, `unable to create new content in namespace ${namespace} because it is being terminated`, [
          { reason: 'NamespaceTerminating', message: `namespace ${namespace} is being terminated`, field: 'metadata.namespace' },
        ]),
      );
    }
  }

  /** The server-owned initial state of a new object (the strategies' `PrepareForCreate`). */
  private initialize(type: ResourceType, object: any): void {
    switch (type.kind) {
      case 'Namespace':
        object.status = { phase: 'Active' };
        break;
      case 'Pod':
        object.status = { phase: 'Pending', qosClass: qosClass(object.spec) };
        break;
      case 'StatefulSet':
        object.metadata.generation = 1;
        object.status = { replicas: 0, availableReplicas: 0 };
        break;
      case 'Service':
        if (object.spec.clusterIP !== 'None' && !object.spec.clusterIP) object.spec.clusterIP = this.allocateClusterIP();
        object.spec.clusterIPs = [object.spec.clusterIP];
        object.status = { loadBalancer: {} };
        break;
      case 'PersistentVolumeClaim':
        object.metadata.finalizers = [...new Set([...(object.metadata.finalizers ?? []), PVC_PROTECTION])];
        object.status = { phase: 'Pending' };
        break;
      default:
        break;
    }
  }

  private allocateClusterIP(): string {
    const n = this.nextClusterIP++;
    return `10.96.${Math.floor(n / 250)}.${(n % 250) + 2}`;
  }

  /** The shared update pipeline of PUT, PATCH, scale and controller writes. */
  private commit(type: ResourceType, current: any, next: any, options: WriteOptions & { subresource?: 'status' }): any {
    const name = current.metadata.name;
    const qr = qualified(type);
    if (next.metadata.name !== undefined && next.metadata.name !== name) {
      throw new ApiStatusError(badRequest(`the name of the object (${next.metadata.name}) does not match the name on the URL (${name})`));
    }
    if (next.metadata.resourceVersion && next.metadata.resourceVersion !== current.metadata.resourceVersion) {
      throw new ApiStatusError(conflict(qr, name, OPTIMISTIC_LOCK_MESSAGE));
    }
    if (next.metadata.uid && next.metadata.uid !== current.metadata.uid) {
      throw new ApiStatusError(conflict(qr, name, `Precondition failed: UID in precondition: ${next.metadata.uid}, UID in object meta: ${current.metadata.uid}`));
    }
    let result: any;
    if (options.subresource === 'status') {
      result = cloneJson(current);
      result.status = next.status;
    } else {
      result = next;
      result.metadata.name = name;
      for (const key of ['uid', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'generation'] as const) {
        if (current.metadata[key] !== undefined) result.metadata[key] = current.metadata[key];
        else delete result.metadata[key];
      }
      if (type.kind !== 'ConfigMap') result.status = current.status;
      if (type.kind === 'Service' && current.spec?.clusterIP && !result.spec?.clusterIP) {
        result.spec ??= {};
        result.spec.clusterIP = current.spec.clusterIP;
        result.spec.clusterIPs = current.spec.clusterIPs;
      }
      if (type.kind === 'Pod' && current.spec?.nodeName && !result.spec?.nodeName) {
        result.spec ??= {};
        result.spec.nodeName = current.spec.nodeName;
      }
      if (type.kind === 'Namespace') {
        result.spec = current.spec;
        result.metadata.labels = { ...(result.metadata.labels ?? {}), 'kubernetes.io/metadata.name': name };
      }
      applyDefaults(type.kind, result, false);
      const errors = [...validateObjectMeta(type, result.metadata), ...validateSpec(type, result), ...validateUpdate(type, current, result)];
      if (errors.length > 0) throw new ApiStatusError(invalid(type.kind, type.group, name, errors));
      if (type.kind === 'StatefulSet' && JSON.stringify(current.spec) !== JSON.stringify(result.spec)) result.metadata.generation = (current.metadata.generation ?? 1) + 1;
    }
    result.metadata.resourceVersion = current.metadata.resourceVersion;
    if (options.dryRun) return withTypeMeta(type, result);
    if (result.metadata.deletionTimestamp && (result.metadata.finalizers ?? []).length === 0 && type.kind !== 'Pod' && type.kind !== 'Namespace') {
      return withTypeMeta(type, this.store.remove(type.kind, result.metadata.namespace, name));
    }
    return withTypeMeta(type, this.store.update(type.kind, result));
  }
}

/** The object with `kind` and `apiVersion` first, as GET and watch answer it. */
export function withTypeMeta(type: ResourceType, object: any): any {
  const { kind: _kind, apiVersion: _apiVersion, ...rest } = object;
  return { kind: type.kind, apiVersion: apiVersionOf(type), ...rest };
}

function stripTypeMeta(object: any): any {
  const { kind: _kind, apiVersion: _apiVersion, ...rest } = object;
  return rest;
}

function decodeContinue(token: string): { rv: number; start: string } {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64').toString('utf8'));
    if (typeof parsed.rv === 'number' && typeof parsed.start === 'string') return parsed;
  } catch (error) {
    throw new ApiStatusError(badRequest(`continue key is not valid: ${(error as Error).message}`));
  }
  throw new ApiStatusError(badRequest('continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)'));
}

/** Throws 415 UnsupportedMediaType unless `contentType` is one of {@link PATCH_TYPES}. */
export function assertPatchType(contentType: string): void {
  if (!PATCH_TYPES.includes(contentType)) {
    throw new ApiStatusError(failure(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: ${PATCH_TYPES.join(', ')}`));
  }
}

/** Applies a PATCH body of `contentType` to `current`; 400/415/422 Statuses as the real server. */
export function applyPatch(contentType: string, current: any, patch: unknown): any {
  try {
    switch (contentType) {
      case 'application/json-patch+json':
        return applyJsonPatch(current, decodeJsonPatch(patch));
      case 'application/merge-patch+json':
        return mergePatch(current, patch);
      case 'application/strategic-merge-patch+json':
      case 'application/apply-patch+yaml':
        return strategicMergePatch(current, patch);
      default:
        return assertPatchType(contentType);
    }
  } catch (error) {
    if (error instanceof PatchDecodeError) throw new ApiStatusError(badRequest(error.message));
    if (error instanceof PatchApplyError) throw new ApiStatusError(patchNotApplied(error.message));
    throw error;
  }
}

/** The `autoscaling/v1` Scale view of a StatefulSet (`spec.replicas`, `status.replicas`, `status.selector`). */
export function scaleOf(sts: any): any {
  const selector = Object.entries(sts.spec?.selector?.matchLabels ?? {})
    .map(([key, value]) => `${key}=${value}`)
    .join(',');
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: { name: sts.metadata.name, namespace: sts.metadata.namespace, uid: sts.metadata.uid, resourceVersion: sts.metadata.resourceVersion, creationTimestamp: sts.metadata.creationTimestamp },
    spec: { replicas: sts.spec?.replicas ?? 0 },
    status: { replicas: sts.status?.replicas ?? 0, selector },
  };
}

/** The resource type of a kind, for callers that know the kind exists. */
export function mustType(kind: string): ResourceType {
  const type = typeByKind(kind);
  if (!type) throw new Error(`unknown kind ${kind}`);
  return type;
}
