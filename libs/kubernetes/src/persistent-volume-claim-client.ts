import { CoreV1Api, type KubeConfig, type V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { NamespacedObjectClient } from './namespaced-object-client.js';
import type { RbacRule } from './rbac.js';
import { requestOptions, type KubeClientOptions } from './request-options.js';

/** PersistentVolumeClaims (core/v1): read, create-or-adopt (an adopted claim keeps its size), delete. */
export class PersistentVolumeClaimClient extends NamespacedObjectClient<V1PersistentVolumeClaim> {
  /** The RBAC this class needs: exactly the calls below. */
  static readonly rbac: readonly RbacRule[] = [{ apiGroup: '', resource: 'persistentvolumeclaims', verbs: ['get', 'create', 'delete'] }];

  private readonly api: CoreV1Api;

  constructor(kubeConfig: KubeConfig, options: KubeClientOptions = {}) {
    super('PersistentVolumeClaim', options);
    this.api = kubeConfig.makeApiClient(CoreV1Api);
  }

  protected readObject(namespace: string, name: string): Promise<V1PersistentVolumeClaim> {
    return this.api.readNamespacedPersistentVolumeClaim({ namespace, name }, requestOptions(this.timeoutMs));
  }

  protected createObject(namespace: string, body: V1PersistentVolumeClaim): Promise<V1PersistentVolumeClaim> {
    return this.api.createNamespacedPersistentVolumeClaim({ namespace, body }, requestOptions(this.timeoutMs));
  }

  protected deleteObject(namespace: string, name: string): Promise<unknown> {
    return this.api.deleteNamespacedPersistentVolumeClaim({ namespace, name }, requestOptions(this.timeoutMs));
  }
}
