import { isAlreadyExists, isNotFound } from './errors.js';

/** The result of a create-or-adopt: the object as the API server holds it, and whether this call created it. */
export interface Adopted<T> {
  object: T;
  created: boolean;
}

/**
 * Creates an object; on 409 AlreadyExists reads the existing one and returns it instead
 * (`created: false`), so that a create retried after a crash converges. When the existing
 * object vanishes between the 409 and the read (a concurrent delete), the create is tried once
 * more. Whether an adopted object is acceptable (its labels) is the caller's decision.
 *
 * @param create the create call, throwing translated errors (see kubeCall).
 * @param read the read call, throwing translated errors.
 * @throws KubeApiError of the create (other than AlreadyExists) or of the read.
 */
export async function createOrAdopt<T>(create: () => Promise<T>, read: () => Promise<T>): Promise<Adopted<T>> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      return { object: await create(), created: true };
    } catch (error) {
      if (!isAlreadyExists(error)) throw error;
    }
    try {
      return { object: await read(), created: false };
    } catch (error) {
      if (!isNotFound(error) || attempt > 0) throw error;
    }
  }
}

/**
 * Runs a delete; a 404 NotFound counts as done.
 * @returns true when this call deleted the object (or started its deletion), false when it was already gone.
 * @throws KubeApiError other than NotFound.
 */
export async function deleteIfExists(remove: () => Promise<unknown>): Promise<boolean> {
  try {
    await remove();
    return true;
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
}

/**
 * Runs a read; a 404 NotFound gives undefined.
 * @throws KubeApiError other than NotFound.
 */
export async function readIfExists<T>(read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}
