import { CoreV1Api, type KubeConfig, type V1ConfigMap } from '@kubernetes/client-node';
import { NamespacedObjectClient } from './namespaced-object-client.js';
import type { RbacRule } from './rbac.js';
import { requestOptions, type KubeClientOptions } from './request-options.js';

/** ConfigMaps (core/v1): read, create-or-adopt, delete. */
export class ConfigMapClient extends NamespacedObjectClient<V1ConfigMap> {
  /** The RBAC this class needs: exactly the calls below. */
  static readonly rbac: readonly RbacRule[] = [{ apiGroup: '', resource: 'configmaps', verbs: ['get', 'create', 'delete'] }];

  private readonly api: CoreV1Api;

  constructor(kubeConfig: KubeConfig, options: KubeClientOptions = {}) {
    super('ConfigMap', options);
    this.api = kubeConfig.makeApiClient(CoreV1Api);
  }

  protected readObject(namespace: string, name: string): Promise<V1ConfigMap> {
    return this.api.readNamespacedConfigMap({ namespace, name }, requestOptions(this.timeoutMs));
  }

  protected createObject(namespace: string, body: V1ConfigMap): Promise<V1ConfigMap> {
    return this.api.createNamespacedConfigMap({ namespace, body }, requestOptions(this.timeoutMs));
  }

  protected deleteObject(namespace: string, name: string): Promise<unknown> {
    return this.api.deleteNamespacedConfigMap({ namespace, name }, requestOptions(this.timeoutMs));
  }
}
