import { CoreV1Api, type KubeConfig, type V1Namespace } from '@kubernetes/client-node';
import { createOrAdopt, readIfExists, type Adopted } from './create-or-adopt.js';
import { kubeCall } from './errors.js';
import type { RbacRule } from './rbac.js';
import { DEFAULT_REQUEST_TIMEOUT_MS, requestOptions, type KubeClientOptions } from './request-options.js';

/**
 * Namespaces (core/v1): read and create. Namespaces are never deleted by DevPocket: a user's
 * namespace may hold other environments, and deleting it is an operator's decision.
 * Every method throws KubeApiError / KubeConnectionError (see translateKubeError).
 */
export class NamespaceClient {
  /** The RBAC this class needs: exactly the calls below. */
  static readonly rbac: readonly RbacRule[] = [{ apiGroup: '', resource: 'namespaces', verbs: ['get', 'create'] }];

  private readonly api: CoreV1Api;
  private readonly timeoutMs: number;

  constructor(kubeConfig: KubeConfig, options: KubeClientOptions = {}) {
    this.api = kubeConfig.makeApiClient(CoreV1Api);
    this.timeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  }

  /** GET /api/v1/namespaces/{name}; undefined on 404. */
  get(name: string): Promise<V1Namespace | undefined> {
    return readIfExists(() => kubeCall(`read Namespace ${name}`, () => this.api.readNamespace({ name }, requestOptions(this.timeoutMs))));
  }

  /** POST /api/v1/namespaces; on 409 AlreadyExists the existing namespace is read and returned. */
  createOrAdopt(manifest: V1Namespace): Promise<Adopted<V1Namespace>> {
    const name = manifest.metadata?.name ?? '';
    return createOrAdopt(
      () => kubeCall(`create Namespace ${name}`, () => this.api.createNamespace({ body: manifest }, requestOptions(this.timeoutMs))),
      () => kubeCall(`read Namespace ${name}`, () => this.api.readNamespace({ name }, requestOptions(this.timeoutMs))),
    );
  }
}
