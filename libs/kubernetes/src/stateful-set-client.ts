import { AppsV1Api, type KubeConfig, type V1StatefulSet, type V1StatefulSetList } from '@kubernetes/client-node';
import { readIfExists } from './create-or-adopt.js';
import { kubeCall } from './errors.js';
import { NamespacedObjectClient } from './namespaced-object-client.js';
import type { RbacRule } from './rbac.js';
import { mergePatchOptions, requestOptions, type KubeClientOptions } from './request-options.js';

/**
 * StatefulSets (apps/v1): read, create-or-adopt (an adopted one is returned unchanged), scale
 * and label by JSON merge patch (RFC 7386) on the object itself (not the `scale` subresource),
 * delete with propagationPolicy Background (the garbage collector then deletes its pod), and
 * list across namespaces for the cluster watch. Every method throws KubeApiError / KubeConnectionError.
 */
export class StatefulSetClient extends NamespacedObjectClient<V1StatefulSet> {
  /** The RBAC this class needs: exactly the calls below (`watch` is the cluster watch's). */
  static readonly rbac: readonly RbacRule[] = [{ apiGroup: 'apps', resource: 'statefulsets', verbs: ['get', 'create', 'patch', 'delete', 'list'] }];

  private readonly api: AppsV1Api;

  constructor(kubeConfig: KubeConfig, options: KubeClientOptions = {}) {
    super('StatefulSet', options);
    this.api = kubeConfig.makeApiClient(AppsV1Api);
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

  /** GET /apis/apps/v1/statefulsets?labelSelector=…: across every namespace (the cluster watch's list). */
  listAllNamespaces(labelSelector: string): Promise<V1StatefulSetList> {
    return kubeCall(`list StatefulSets (${labelSelector})`, () => this.api.listStatefulSetForAllNamespaces({ labelSelector }, requestOptions(this.timeoutMs)));
  }

  protected readObject(namespace: string, name: string): Promise<V1StatefulSet> {
    return this.api.readNamespacedStatefulSet({ namespace, name }, requestOptions(this.timeoutMs));
  }

  protected createObject(namespace: string, body: V1StatefulSet): Promise<V1StatefulSet> {
    return this.api.createNamespacedStatefulSet({ namespace, body }, requestOptions(this.timeoutMs));
  }

  protected deleteObject(namespace: string, name: string): Promise<unknown> {
    return this.api.deleteNamespacedStatefulSet({ namespace, name, propagationPolicy: 'Background' }, requestOptions(this.timeoutMs));
  }
}
