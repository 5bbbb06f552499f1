import { AppsV1Api, type KubeConfig, type V1StatefulSet, type V1StatefulSetList } from '@kubernetes/client-node';
import { createOrAdopt, deleteIfExists, readIfExists, type Adopted } from './create-or-adopt.js';
import { kubeCall } from './errors.js';
import type { RbacRule } from './rbac.js';
import { DEFAULT_REQUEST_TIMEOUT_MS, mergePatchOptions, requestOptions, type KubeClientOptions } from './request-options.js';

/**
 * StatefulSets (apps/v1): read, create-or-adopt, scale and label by JSON merge patch (RFC 7386)
 * on the object itself (not the `scale` subresource), delete, and list across namespaces for
 * the cluster watch. Every method throws KubeApiError / KubeConnectionError.
 */
export class StatefulSetClient {
  /** The RBAC this class needs: exactly the calls below (`watch` is the cluster watch's). */
  static readonly rbac: readonly RbacRule[] = [{ apiGroup: 'apps', resource: 'statefulsets', verbs: ['get', 'create', 'patch', 'delete', 'list'] }];

  private readonly api: AppsV1Api;
  private readonly timeoutMs: number;

  constructor(kubeConfig: KubeConfig, options: KubeClientOptions = {}) {
    this.api = kubeConfig.makeApiClient(AppsV1Api);
    this.timeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  }

  /** GET …/statefulsets/{name}; undefined on 404. */
  get(namespace: string, name: string): Promise<V1StatefulSet | undefined> {
    return readIfExists(() => this.read(namespace, name));
  }

  /** POST …/statefulsets in the manifest's namespace; on 409 AlreadyExists the existing one is returned unchanged. */
  createOrAdopt(manifest: V1StatefulSet): Promise<Adopted<V1StatefulSet>> {
    const namespace = manifest.metadata?.namespace ?? '';
    const name = manifest.metadata?.name ?? '';
    return createOrAdopt(
      () => kubeCall(`create StatefulSet ${namespace}/${name}`, () => this.api.createNamespacedStatefulSet({ namespace, body: manifest }, requestOptions(this.timeoutMs))),
      () => this.read(namespace, name),
    );
  }

  /** Sets `spec.replicas` (merge patch); undefined when the StatefulSet does not exist. */
  scale(namespace: string, name: string, replicas: number): Promise<V1StatefulSet | undefined> {
    return readIfExists(() =>
      kubeCall(`scale StatefulSet ${namespace}/${name} to ${replicas}`, () =>
        this.api.patchNamespacedStatefulSet({ namespace, name, body: { spec: { replicas } } }, mergePatchOptions(this.timeoutMs)),
      ),
    );
  }

  /** Adds or replaces `metadata.labels` entries (merge patch); other labels are kept. */
  patchLabels(namespace: string, name: string, labels: Record<string, string>): Promise<V1StatefulSet> {
    return kubeCall(`label StatefulSet ${namespace}/${name}`, () =>
      this.api.patchNamespacedStatefulSet({ namespace, name, body: { metadata: { labels } } }, mergePatchOptions(this.timeoutMs)),
    );
  }

  /**
   * DELETE …/statefulsets/{name} with propagationPolicy Background: the garbage collector then
   * deletes its pod. False when it was already gone (404).
   */
  deleteIfExists(namespace: string, name: string): Promise<boolean> {
    return deleteIfExists(() =>
      kubeCall(`delete StatefulSet ${namespace}/${name}`, () =>
        this.api.deleteNamespacedStatefulSet({ namespace, name, propagationPolicy: 'Background' }, requestOptions(this.timeoutMs)),
      ),
    );
  }

  /** GET /apis/apps/v1/statefulsets?labelSelector=…: across every namespace (the cluster watch's list). */
  listAllNamespaces(labelSelector: string): Promise<V1StatefulSetList> {
    return kubeCall(`list StatefulSets (${labelSelector})`, () => this.api.listStatefulSetForAllNamespaces({ labelSelector }, requestOptions(this.timeoutMs)));
  }

  private read(namespace: string, name: string): Promise<V1StatefulSet> {
    return kubeCall(`read StatefulSet ${namespace}/${name}`, () => this.api.readNamespacedStatefulSet({ namespace, name }, requestOptions(this.timeoutMs)));
  }
}
