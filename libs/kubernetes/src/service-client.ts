import { CoreV1Api, type KubeConfig, type V1Service } from '@kubernetes/client-node';
import { createOrAdopt, deleteIfExists, readIfExists, type Adopted } from './create-or-adopt.js';
import { kubeCall } from './errors.js';
import type { RbacRule } from './rbac.js';
import { DEFAULT_REQUEST_TIMEOUT_MS, requestOptions, type KubeClientOptions } from './request-options.js';

/**
 * Services (core/v1): read, create-or-adopt, delete.
 * Every method throws KubeApiError / KubeConnectionError (see translateKubeError).
 */
export class ServiceClient {
  /** The RBAC this class needs: exactly the calls below. */
  static readonly rbac: readonly RbacRule[] = [{ apiGroup: '', resource: 'services', verbs: ['get', 'create', 'delete'] }];

  private readonly api: CoreV1Api;
  private readonly timeoutMs: number;

  constructor(kubeConfig: KubeConfig, options: KubeClientOptions = {}) {
    this.api = kubeConfig.makeApiClient(CoreV1Api);
    this.timeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  }

  /** GET …/services/{name}; undefined on 404. */
  get(namespace: string, name: string): Promise<V1Service | undefined> {
    return readIfExists(() => this.read(namespace, name));
  }

  /** POST …/services in the manifest's namespace; on 409 AlreadyExists the existing one is returned. */
  createOrAdopt(manifest: V1Service): Promise<Adopted<V1Service>> {
    const namespace = manifest.metadata?.namespace ?? '';
    const name = manifest.metadata?.name ?? '';
    return createOrAdopt(
      () => kubeCall(`create Service ${namespace}/${name}`, () => this.api.createNamespacedService({ namespace, body: manifest }, requestOptions(this.timeoutMs))),
      () => this.read(namespace, name),
    );
  }

  /** DELETE …/services/{name}; false when it was already gone (404). */
  deleteIfExists(namespace: string, name: string): Promise<boolean> {
    return deleteIfExists(() =>
      kubeCall(`delete Service ${namespace}/${name}`, () => this.api.deleteNamespacedService({ namespace, name }, requestOptions(this.timeoutMs))),
    );
  }

  private read(namespace: string, name: string): Promise<V1Service> {
    return kubeCall(`read Service ${namespace}/${name}`, () => this.api.readNamespacedService({ namespace, name }, requestOptions(this.timeoutMs)));
  }
}
