import { CoreV1Api, type KubeConfig, type V1Service } from '@kubernetes/client-node';
import { NamespacedObjectClient } from './namespaced-object-client.js';
import type { RbacRule } from './rbac.js';
import { requestOptions, type KubeClientOptions } from './request-options.js';

/** Services (core/v1): read, create-or-adopt, delete. */
export class ServiceClient extends NamespacedObjectClient<V1Service> {
  /** The RBAC this class needs: exactly the calls below. */
  static readonly rbac: readonly RbacRule[] = [{ apiGroup: '', resource: 'services', verbs: ['get', 'create', 'delete'] }];

  private readonly api: CoreV1Api;

  constructor(kubeConfig: KubeConfig, options: KubeClientOptions = {}) {
    super('Service', options);
    this.api = kubeConfig.makeApiClient(CoreV1Api);
  }

  protected readObject(namespace: string, name: string): Promise<V1Service> {
    return this.api.readNamespacedService({ namespace, name }, requestOptions(this.timeoutMs));
  }

  protected createObject(namespace: string, body: V1Service): Promise<V1Service> {
    return this.api.createNamespacedService({ namespace, body }, requestOptions(this.timeoutMs));
  }

  protected deleteObject(namespace: string, name: string): Promise<unknown> {
    return this.api.deleteNamespacedService({ namespace, name }, requestOptions(this.timeoutMs));
  }
}
