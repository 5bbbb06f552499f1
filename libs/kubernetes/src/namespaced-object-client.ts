import type { KubernetesObject } from '@kubernetes/client-node';
import { createOrAdopt, deleteIfExists, readIfExists, type Adopted } from './create-or-adopt.js';
import { kubeCall } from './errors.js';
import { DEFAULT_REQUEST_TIMEOUT_MS, type KubeClientOptions } from './request-options.js';

/**
 * Read, create-or-adopt and delete of one namespaced kind. A subclass names the kind, declares
 * the RBAC of its calls and makes the three API calls; every method here throws KubeApiError /
 * KubeConnectionError (see translateKubeError).
 */
export abstract class NamespacedObjectClient<T extends KubernetesObject> {
  protected readonly timeoutMs: number;

  constructor(
    /** The kind as error messages name it, e.g. `ConfigMap`. */
    private readonly kind: string,
    options: KubeClientOptions = {},
  ) {
    this.timeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  }

  protected abstract readObject(namespace: string, name: string): Promise<T>;
  protected abstract createObject(namespace: string, body: T): Promise<T>;
  protected abstract deleteObject(namespace: string, name: string): Promise<unknown>;

  /** GET the object; undefined on 404. */
  get(namespace: string, name: string): Promise<T | undefined> {
    return readIfExists(() => this.read(namespace, name));
  }

  /** POST in the manifest's namespace; on 409 AlreadyExists the existing object is returned (not changed). */
  createOrAdopt(manifest: T): Promise<Adopted<T>> {
    const namespace = manifest.metadata?.namespace ?? '';
    const name = manifest.metadata?.name ?? '';
    return createOrAdopt(
      () => kubeCall(`create ${this.kind} ${namespace}/${name}`, () => this.createObject(namespace, manifest)),
      () => this.read(namespace, name),
    );
  }

  /** DELETE the object; false when it was already gone (404). */
  deleteIfExists(namespace: string, name: string): Promise<boolean> {
    return deleteIfExists(() => kubeCall(`delete ${this.kind} ${namespace}/${name}`, () => this.deleteObject(namespace, name)));
  }

  private read(namespace: string, name: string): Promise<T> {
    return kubeCall(`read ${this.kind} ${namespace}/${name}`, () => this.readObject(namespace, name));
  }
}
