import { CoreV1Api, type KubeConfig, type V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { createOrAdopt, deleteIfExists, readIfExists, type Adopted } from './create-or-adopt.js';
import { kubeCall } from './errors.js';
import type { RbacRule } from './rbac.js';
import { DEFAULT_REQUEST_TIMEOUT_MS, requestOptions, type KubeClientOptions } from './request-options.js';

/**
 * PersistentVolumeClaims (core/v1): read, create-or-adopt, delete.
 * Every method throws KubeApiError / KubeConnectionError (see translateKubeError).
 */
export class PersistentVolumeClaimClient {
  /** The RBAC this class needs: exactly the calls below. */
  static readonly rbac: readonly RbacRule[] = [{ apiGroup: '', resource: 'persistentvolumeclaims', verbs: ['get', 'create', 'delete'] }];

  private readonly api: CoreV1Api;
  private readonly timeoutMs: number;

  constructor(kubeConfig: KubeConfig, options: KubeClientOptions = {}) {
    this.api = kubeConfig.makeApiClient(CoreV1Api);
    this.timeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  }

  /** GET …/persistentvolumeclaims/{name}; undefined on 404. */
  get(namespace: string, name: string): Promise<V1PersistentVolumeClaim | undefined> {
    return readIfExists(() => this.read(namespace, name));
  }

  /** POST …/persistentvolumeclaims in the manifest's namespace; on 409 AlreadyExists the existing one is returned (its size is not changed). */
  createOrAdopt(manifest: V1PersistentVolumeClaim): Promise<Adopted<V1PersistentVolumeClaim>> {
    const namespace = manifest.metadata?.namespace ?? '';
    const name = manifest.metadata?.name ?? '';
    return createOrAdopt(
      () => kubeCall(`create PersistentVolumeClaim ${namespace}/${name}`, () => this.api.createNamespacedPersistentVolumeClaim({ namespace, body: manifest }, requestOptions(this.timeoutMs))),
      () => this.read(namespace, name),
    );
  }

  /** DELETE …/persistentvolumeclaims/{name}; false when it was already gone (404). */
  deleteIfExists(namespace: string, name: string): Promise<boolean> {
    return deleteIfExists(() =>
      kubeCall(`delete PersistentVolumeClaim ${namespace}/${name}`, () => this.api.deleteNamespacedPersistentVolumeClaim({ namespace, name }, requestOptions(this.timeoutMs))),
    );
  }

  private read(namespace: string, name: string): Promise<V1PersistentVolumeClaim> {
    return kubeCall(`read PersistentVolumeClaim ${namespace}/${name}`, () => this.api.readNamespacedPersistentVolumeClaim({ namespace, name }, requestOptions(this.timeoutMs)));
  }
}
