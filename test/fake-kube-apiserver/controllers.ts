/**
 * The simulated kube-controller-manager: the controllers whose effects a client of the served
 * kinds observes, reacting to store changes (like informers) and writing through the
 * {@link Registry} (like API clients):
 *
 * - StatefulSet: pods `<sts>-<ordinal>` for ordinals below `spec.replicas` (one at a time with
 *   `OrderedReady`, waiting for the previous one to be Running and Ready), from the pod template
 *   with the labels `controller-revision-hash`, `statefulset.kubernetes.io/pod-name`,
 *   `apps.kubernetes.io/pod-index`, an owner reference (`controller: true`) and
 *   `hostname`/`subdomain`; PVCs `<claim>-<sts>-<ordinal>` for `volumeClaimTemplates`; pods above
 *   the replica count deleted; a pod whose revision is not the template's current one deleted
 *   (RollingUpdate) so that it comes back updated; a deleted pod recreated; and `status`
 *   (`replicas`, `readyReplicas`, `currentReplicas`, `updatedReplicas`, `availableReplicas`,
 *   `observedGeneration`, revisions);
 * - garbage collector: dependents (by `ownerReferences[].uid`) of a removed owner are deleted;
 *   an owner with the `foregroundDeletion` finalizer goes once its dependents are gone, one with
 *   `orphan` releases them (owner references removed) first;
 * - namespace: a namespace being deleted has all its content deleted, and is removed once empty;
 *   every active namespace gets the `kube-root-ca.crt` ConfigMap;
 * - PVC: a new claim is bound at once (`volumeName: pvc-<uid>`, phase `Bound`, capacity = the
 *   request; "Immediate" binding), and the `kubernetes.io/pvc-protection` finalizer is removed
 *   once no pod uses a claim being deleted.
 */
import { createHash } from 'node:crypto';
import type { Kubelet } from './kubelet.js';
import { mustType, PVC_PROTECTION, Registry } from './registry.js';
import { RESOURCE_TYPES } from './resources.js';
import { ApiStatusError } from './status.js';
import { cloneJson, type ChangeEvent, type ObjectStore } from './store.js';

/** The CA bundle published in every namespace's `kube-root-ca.crt` (not a real certificate). */
const FAKE_CA_PEM = `-----BEGIN CERTIFICATE-----\n${Buffer.from('devpocket fake kube-apiserver root CA').toString('base64')}\n-----END CERTIFICATE-----\n`;

/** Options of {@link ControllerManager}. */
export interface ControllerOptions {
  warn(message: string): void;
}

function ownerOf(object: any, kind: string): any | undefined {
  return (object?.metadata?.ownerReferences ?? []).find((ref: any) => ref.kind === kind && ref.controller);
}

function isReady(pod: any): boolean {
  return pod.status?.phase === 'Running' && (pod.status?.conditions ?? []).some((c: any) => c.type === 'Ready' && c.status === 'True');
}

function ordinalOf(stsName: string, podName: string): number | undefined {
  const match = new RegExp(`^${stsName.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-([0-9]+)$`).exec(podName);
  return match ? Number(match[1]) : undefined;
}

/** The `controller-revision-hash` of a StatefulSet's template: `<sts>-<10 hex>`. */
export function revisionOf(sts: any): string {
  return `${sts.metadata.name}-${createHash('sha256').update(JSON.stringify(sts.spec?.template ?? {})).digest('hex').slice(0, 10)}`;
}

/** See the module comment. */
export class ControllerManager {
  private readonly queue = new Map<string, () => void>();
  private scheduled?: NodeJS.Immediate;
  private readonly unsubscribe: () => void;
  private closed = false;

  constructor(
    private readonly store: ObjectStore,
    private readonly registry: Registry,
    private readonly kubelet: Kubelet,
    private readonly options: ControllerOptions,
  ) {
    this.unsubscribe = store.subscribe((event) => this.onChange(event));
  }

  /** Stops reacting to changes and drops queued work. */
  close(): void {
    this.closed = true;
    this.unsubscribe();
    if (this.scheduled) clearImmediate(this.scheduled);
    this.queue.clear();
  }

  /** Creates what a fresh cluster has: the system namespaces and the `kubernetes` Service. */
  bootstrap(systemNamespaces: string[]): void {
    for (const name of systemNamespaces) this.registry.create(mustType('Namespace'), undefined, { metadata: { name } });
    this.registry.create(mustType('Service'), 'default', {
      metadata: { name: 'kubernetes', labels: { component: 'apiserver', provider: 'kubernetes' } },
      spec: { clusterIP: '10.96.0.1', ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: 6443 }], sessionAffinity: 'None', type: 'ClusterIP' },
    });
  }

  private enqueue(key: string, work: () => void): void {
    if (this.closed) return;
    this.queue.set(key, work);
    this.scheduled ??= setImmediate(() => this.drain());
  }

  private drain(): void {
    this.scheduled = undefined;
    const batch = [...this.queue.entries()];
    this.queue.clear();
    for (const [key, work] of batch) {
      if (this.closed) return;
      try {
        work();
      } catch (error) {
        // A controller racing with a client (the namespace began terminating, the object went
        // away, a newer version was written) meets the API's refusal; a real controller requeues,
        // and here the next change of the objects involved enqueues the work again.
        if (error instanceof ApiStatusError && [403, 404, 409].includes(error.code)) continue;
        this.options.warn(`controller ${key}: ${error instanceof Error ? error.stack : String(error)}`);
      }
    }
  }

  private onChange(event: ChangeEvent): void {
    const { kind, namespace, name, object } = event;
    if (kind === 'StatefulSet') this.enqueue(`sts/${namespace}/${name}`, () => this.syncStatefulSet(namespace as string, name));
    if (kind === 'Pod') {
      const owner = ownerOf(object, 'StatefulSet');
      if (owner) this.enqueue(`sts/${namespace}/${owner.name}`, () => this.syncStatefulSet(namespace as string, owner.name));
      if (event.type === 'DELETED') {
        for (const volume of object.spec?.volumes ?? []) {
          const claim = volume.persistentVolumeClaim?.claimName;
          if (claim) this.enqueue(`pvc/${namespace}/${claim}`, () => this.syncClaim(namespace as string, claim));
        }
      }
    }
    if (kind === 'PersistentVolumeClaim' && event.type !== 'DELETED') this.enqueue(`pvc/${namespace}/${name}`, () => this.syncClaim(namespace as string, name));
    if (kind === 'Namespace') {
      if (event.type === 'DELETED') {
        this.kubelet.forgetNamespace(name).catch((error: unknown) => this.options.warn(`removing the sandboxes of namespace ${name}: ${error instanceof Error ? error.message : String(error)}`));
      }
      else this.enqueue(`ns/${name}`, () => this.syncNamespace(name));
    }
    if (kind === 'ConfigMap' && name === 'kube-root-ca.crt' && event.type === 'DELETED') this.enqueue(`ns/${namespace}`, () => this.syncNamespace(namespace as string));
    if (namespace && event.type === 'DELETED') this.enqueue(`ns/${namespace}`, () => this.syncNamespace(namespace));

    // Garbage collection: a removed owner's dependents; owners waiting for their dependents.
    if (event.type === 'DELETED') {
      const uid = object.metadata.uid;
      this.enqueue(`gc/dependents/${uid}`, () => this.collectDependents(uid));
      for (const ref of object.metadata.ownerReferences ?? []) {
        this.enqueue(`gc/owner/${namespace}/${ref.kind}/${ref.name}`, () => this.syncOwner(ref.kind, namespace, ref.name));
      }
    } else if (object.metadata.deletionTimestamp && (object.metadata.finalizers ?? []).some((f: string) => f === 'foregroundDeletion' || f === 'orphan')) {
      this.enqueue(`gc/owner/${namespace}/${kind}/${name}`, () => this.syncOwner(kind, namespace, name));
    }
  }

  /** Every stored object (all kinds, optionally one namespace) whose owner references include `uid`. */
  private dependentsOf(uid: string, namespace?: string): Array<{ kind: string; object: any }> {
    const out: Array<{ kind: string; object: any }> = [];
    for (const type of RESOURCE_TYPES) {
      for (const object of this.store.list(type.kind, namespace)) {
        if ((object.metadata.ownerReferences ?? []).some((ref: any) => ref.uid === uid)) out.push({ kind: type.kind, object });
      }
    }
    return out;
  }

  private collectDependents(uid: string): void {
    for (const { kind, object } of this.dependentsOf(uid)) {
      const others = (object.metadata.ownerReferences ?? []).filter((ref: any) => ref.uid !== uid);
      const liveOwner = others.some((ref: any) => this.store.list(ref.kind, object.metadata.namespace).some((o) => o.metadata.uid === ref.uid));
      if (liveOwner) this.releaseDependent(kind, object, uid);
      else if (!object.metadata.deletionTimestamp) this.registry.delete(mustType(kind), object.metadata.namespace, object.metadata.name, { propagationPolicy: 'Background' });
    }
  }

  private releaseDependent(kind: string, object: any, ownerUid: string): void {
    const next = cloneJson(object);
    next.metadata.ownerReferences = next.metadata.ownerReferences.filter((ref: any) => ref.uid !== ownerUid);
    if (next.metadata.ownerReferences.length === 0) delete next.metadata.ownerReferences;
    this.store.update(kind, next);
  }

  /** An owner being deleted with `foregroundDeletion` or `orphan`. */
  private syncOwner(kind: string, namespace: string | undefined, name: string): void {
    const type = RESOURCE_TYPES.find((t) => t.kind === kind);
    if (!type) return;
    const owner = this.store.get(kind, namespace, name);
    if (!owner?.metadata.deletionTimestamp) return;
    const finalizers: string[] = owner.metadata.finalizers ?? [];
    const dependents = this.dependentsOf(owner.metadata.uid, namespace);
    if (finalizers.includes('orphan')) {
      for (const { kind: dependentKind, object } of dependents) this.releaseDependent(dependentKind, object, owner.metadata.uid);
      this.registry.removeFinalizer(type, namespace, name, 'orphan');
      return;
    }
    if (finalizers.includes('foregroundDeletion')) {
      for (const { kind: dependentKind, object } of dependents) {
        if (!object.metadata.deletionTimestamp) this.registry.delete(mustType(dependentKind), object.metadata.namespace, object.metadata.name, { propagationPolicy: 'Foreground' });
      }
      if (dependents.length === 0) this.registry.removeFinalizer(type, namespace, name, 'foregroundDeletion');
    }
  }

  private syncNamespace(name: string): void {
    const ns = this.store.get('Namespace', undefined, name);
    if (!ns) return;
    if (!ns.metadata.deletionTimestamp) {
      if (!this.store.get('ConfigMap', name, 'kube-root-ca.crt')) {
        this.registry.create(mustType('ConfigMap'), name, { metadata: { name: 'kube-root-ca.crt', annotations: { 'kubernetes.io/description': 'Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.' } }, data: { 'ca.crt': FAKE_CA_PEM } });
      }
      return;
    }
    let remaining = 0;
    for (const type of RESOURCE_TYPES.filter((t) => t.namespaced)) {
      for (const object of this.store.list(type.kind, name)) {
        remaining += 1;
        if (!object.metadata.deletionTimestamp) this.registry.delete(type, name, object.metadata.name, { propagationPolicy: 'Background' });
        else if (type.kind === 'PersistentVolumeClaim') this.syncClaim(name, object.metadata.name);
      }
    }
    if (remaining === 0) this.store.remove('Namespace', undefined, name);
  }

  /** Binds a pending claim; lets a deleted claim go once no pod uses it. */
  private syncClaim(namespace: string, name: string): void {
    const claim = this.store.get('PersistentVolumeClaim', namespace, name);
    if (!claim) return;
    if (claim.metadata.deletionTimestamp) {
      const inUse = this.store.list('Pod', namespace).some((pod) => (pod.spec?.volumes ?? []).some((v: any) => v.persistentVolumeClaim?.claimName === name));
      if (!inUse) this.registry.removeFinalizer(mustType('PersistentVolumeClaim'), namespace, name, PVC_PROTECTION);
      return;
    }
    if (claim.status?.phase !== 'Pending') return;
    claim.spec.volumeName = `pvc-${claim.metadata.uid}`;
    claim.metadata.annotations = {
      ...(claim.metadata.annotations ?? {}),
      'pv.kubernetes.io/bind-completed': 'yes',
      'pv.kubernetes.io/bound-by-controller': 'yes',
      'volume.kubernetes.io/storage-provisioner': 'rancher.io/local-path',
    };
    claim.status = { phase: 'Bound', accessModes: claim.spec.accessModes, capacity: { storage: claim.spec.resources?.requests?.storage } };
    this.store.update('PersistentVolumeClaim', claim);
  }

  private syncStatefulSet(namespace: string, name: string): void {
    const sts = this.store.get('StatefulSet', namespace, name);
    if (!sts || sts.metadata.deletionTimestamp) return;
    const podType = mustType('Pod');
    const replicas: number = sts.spec?.replicas ?? 1;
    const revision = revisionOf(sts);
    const pods = this.store.list('Pod', namespace).filter((pod) => ownerOf(pod, 'StatefulSet')?.uid === sts.metadata.uid);
    const byOrdinal = new Map<number, any>();
    for (const pod of pods) {
      const ordinal = ordinalOf(name, pod.metadata.name);
      if (ordinal !== undefined) byOrdinal.set(ordinal, pod);
    }

    for (const [ordinal, pod] of byOrdinal) {
      if (ordinal >= replicas && !pod.metadata.deletionTimestamp) this.registry.delete(podType, namespace, pod.metadata.name, {});
    }
    const rolling = (sts.spec?.updateStrategy?.type ?? 'RollingUpdate') === 'RollingUpdate';
    const partition: number = sts.spec?.updateStrategy?.rollingUpdate?.partition ?? 0;
    const anyTerminating = pods.some((pod) => pod.metadata.deletionTimestamp);
    if (rolling && !anyTerminating) {
      const outdated = [...byOrdinal.entries()]
        .filter(([ordinal, pod]) => ordinal < replicas && ordinal >= partition && pod.metadata.labels?.['controller-revision-hash'] !== revision)
        .sort((a, b) => b[0] - a[0])[0];
      if (outdated) this.registry.delete(podType, namespace, outdated[1].metadata.name, {});
    }
    const ordered = (sts.spec?.podManagementPolicy ?? 'OrderedReady') === 'OrderedReady';
    for (let ordinal = 0; ordinal < replicas; ordinal++) {
      const existing = byOrdinal.get(ordinal);
      if (existing) {
        if (ordered && (!isReady(existing) || existing.metadata.deletionTimestamp)) break;
        continue;
      }
      this.createPod(sts, ordinal, revision);
      if (ordered) break;
    }
    this.writeStatus(sts, revision);
  }

  private createPod(sts: any, ordinal: number, revision: string): void {
    const namespace = sts.metadata.namespace;
    const podName = `${sts.metadata.name}-${ordinal}`;
    const template = cloneJson(sts.spec.template ?? {});
    const spec = template.spec ?? {};
    spec.hostname = podName;
    if (sts.spec.serviceName) spec.subdomain = sts.spec.serviceName;
    for (const claimTemplate of sts.spec.volumeClaimTemplates ?? []) {
      const volumeName = claimTemplate.metadata?.name;
      const claimName = `${volumeName}-${sts.metadata.name}-${ordinal}`;
      if (!this.store.get('PersistentVolumeClaim', namespace, claimName)) {
        this.registry.create(mustType('PersistentVolumeClaim'), namespace, {
          metadata: { name: claimName, labels: { ...(sts.spec.selector?.matchLabels ?? {}), ...(claimTemplate.metadata?.labels ?? {}) } },
          spec: cloneJson(claimTemplate.spec),
        });
      }
      spec.volumes = [...(spec.volumes ?? []).filter((v: any) => v.name !== volumeName), { name: volumeName, persistentVolumeClaim: { claimName } }];
    }
    this.registry.create(mustType('Pod'), namespace, {
      metadata: {
        name: podName,
        labels: { ...(template.metadata?.labels ?? {}), 'apps.kubernetes.io/pod-index': String(ordinal), 'controller-revision-hash': revision, 'statefulset.kubernetes.io/pod-name': podName },
        annotations: template.metadata?.annotations,
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: sts.metadata.name, uid: sts.metadata.uid, controller: true, blockOwnerDeletion: true }],
      },
      spec,
    });
  }

  private writeStatus(sts: any, revision: string): void {
    const current = this.store.get('StatefulSet', sts.metadata.namespace, sts.metadata.name);
    if (!current || current.metadata.uid !== sts.metadata.uid) return;
    const pods = this.store.list('Pod', sts.metadata.namespace).filter((pod) => ownerOf(pod, 'StatefulSet')?.uid === sts.metadata.uid && !pod.metadata.deletionTimestamp);
    const ready = pods.filter(isReady).length;
    const updated = pods.filter((pod) => pod.metadata.labels?.['controller-revision-hash'] === revision).length;
    const status: any = { observedGeneration: current.metadata.generation, replicas: pods.length };
    if (ready > 0) status.readyReplicas = ready;
    if (updated > 0) {
      status.currentReplicas = updated;
      status.updatedReplicas = updated;
    }
    status.currentRevision = revision;
    status.updateRevision = revision;
    status.collisionCount = 0;
    status.availableReplicas = ready;
    if (JSON.stringify(current.status) === JSON.stringify(status)) return;
    current.status = status;
    this.store.update('StatefulSet', current);
  }
}
