import { CoreV1Api, type KubeConfig, type V1ConfigMap } from '@kubernetes/client-node';
import { createOrAdopt, deleteIfExists, readIfExists, type Adopted } from './create-or-adopt.js';
import { kubeCall } from './errors.js';
import type { RbacRule } from './rbac.js';
import { DEFAULT_REQUEST_TIMEOUT_MS, requestOptions, type KubeClientOptions } from './request-options.js';

/**
 * ConfigMaps (core/v1): read, create-or-adopt, delete.
 * Every method throws KubeApiError / KubeConnectionError (see translateKubeError).
 */
export class ConfigMapClient {
  /** The RBAC this class needs: exactly the calls below. */
  static readonly rbac: readonly RbacRule[] = [{ apiGroup: '', resource: 'configmaps', verbs: ['get', 'create', 'delete'] }];

  private readonly api: CoreV1Api;
  private readonly timeoutMs: number;

  constructor(kubeConfig: KubeConfig, options: KubeClientOptions = {}) {
    this.api = kubeConfig.makeApiClient(CoreV1Api);
    this.timeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  }

  /** GET …/configmaps/{name}; undefined on 404. */
  get(namespace: string, name: string): Promise<V1ConfigMap | undefined> {
    return readIfExists(() => this.read(namespace, name));
  }

  /** POST …/configmaps in the manifest's namespace; on 409 AlreadyExists the existing one is returned. */
  createOrAdopt(manifest: V1ConfigMap): Promise<Adopted<V1ConfigMap>> {
    const namespace = manifest.metadata?.namespace ?? '';
    const name = manifest.metadata?.name ?? '';
    return createOrAdopt(
      () => kubeCall(`create ConfigMap ${namespace}/${name}`, () => this.api.createNamespacedConfigMap({ namespace, body: manifest }, requestOptions(this.timeoutMs))),
      () => this.read(namespace, name),
    );
  }

  /** DELETE …/configmaps/{name}; false when it was already gone (404). */
  deleteIfExists(namespace: string, name: string): Promise<boolean> {
    return deleteIfExists(() =>
      kubeCall(`delete ConfigMap ${namespace}/${name}`, () => this.api.deleteNamespacedConfigMap({ namespace, name }, requestOptions(this.timeoutMs))),
    );
  }

  private read(namespace: string, name: string): Promise<V1ConfigMap> {
    return kubeCall(`read ConfigMap ${namespace}/${name}`, () => this.api.readNamespacedConfigMap({ namespace, name }, requestOptions(this.timeoutMs)));
  }
}
