/**
 * Names and labels of the objects DevPocket owns in a cluster. Every object of an environment
 * carries {@link environmentLabels}; the per-user namespace carries {@link namespaceLabels}.
 * Label keys and values follow the Kubernetes "Recommended Labels" and the label syntax of
 * https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#syntax-and-character-set.
 */

/** `app.kubernetes.io/name`: the application an object belongs to. */
export const NAME_LABEL = 'app.kubernetes.io/name';
/** `app.kubernetes.io/managed-by`: the tool that manages the object. */
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
/** `devpocket.io/environment-id`: the environment (UUID) an object belongs to. */
export const ENVIRONMENT_ID_LABEL = 'devpocket.io/environment-id';
/** `devpocket.io/user-id`: the owner (UUID) of the environment or namespace. */
export const USER_ID_LABEL = 'devpocket.io/user-id';

/** Value of {@link NAME_LABEL}. */
export const APP_NAME = 'devpocket';
/** Value of {@link MANAGED_BY_LABEL}. */
export const MANAGED_BY = 'devpocket-server';

/** Label selector of everything this server manages, the cluster watch's selector. */
export const MANAGED_SELECTOR = `${MANAGED_BY_LABEL}=${MANAGED_BY}`;

/** The name of the main container of an environment's pod (exec and logs target it). */
export const ENVIRONMENT_CONTAINER = 'environment';
/** The name of the init container that prepares the volume and tmux as root. */
export const SETUP_CONTAINER = 'setup';

/** Ids become object names and label values: letters, digits and dashes, as UUIDs are. */
const ID = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/**
 * Longest StatefulSet name: its pods carry a `controller-revision-hash` label of
 * `<name>-<10 characters>`, and a label value is at most 63 characters.
 */
export const MAX_STATEFULSET_NAME = 52;

/** What {@link environmentNames} needs of an environment. */
export interface EnvironmentRef {
  /** The environment's id, a UUID. */
  id: string;
  /** The owner's id, a UUID. */
  userId: string;
}

/** The names of an environment's objects, all in namespace {@link namespace}. */
export interface EnvironmentNames {
  /** `devpocket-<first 8 hex digits of the user id>`. */
  namespace: string;
  /** `dp-<environment id, lower case>`: the PVC, ConfigMap, Service and StatefulSet. */
  name: string;
  /** `<name>-0`: the StatefulSet's one pod. */
  pod: string;
}

/**
 * The namespace of a user's environments: `devpocket-` and the first 8 hexadecimal digits of
 * the user id without dashes, lower case. Two users whose ids share those 8 digits share a
 * namespace; every object in it is named after an environment id, so nothing collides.
 * @throws Error when the id has fewer than 8 hexadecimal digits before any other character.
 */
export function namespaceName(userId: string): string {
  const hex = userId.replaceAll('-', '').toLowerCase();
  if (!/^[0-9a-f]{8}/.test(hex)) throw new Error(`User id ${JSON.stringify(userId)} does not start with 8 hexadecimal digits`);
  return `devpocket-${hex.slice(0, 8)}`;
}

/**
 * The names of an environment's objects (see {@link EnvironmentNames}).
 * @throws Error for an id that is not letters, digits and dashes, or too long for a StatefulSet name.
 */
export function environmentNames(env: EnvironmentRef): EnvironmentNames {
  if (!ID.test(env.id)) throw new Error(`Environment id ${JSON.stringify(env.id)} is not a valid object name part`);
  const name = `dp-${env.id.toLowerCase()}`;
  if (name.length > MAX_STATEFULSET_NAME) {
    throw new Error(`Environment id ${JSON.stringify(env.id)} is too long: ${name} exceeds ${MAX_STATEFULSET_NAME} characters`);
  }
  return { namespace: namespaceName(env.userId), name, pod: `${name}-0` };
}

/** Labels of a user's namespace: name, managed-by and user id. */
export function namespaceLabels(userId: string): Record<string, string> {
  assertLabelValue(userId, 'user id');
  return { [NAME_LABEL]: APP_NAME, [MANAGED_BY_LABEL]: MANAGED_BY, [USER_ID_LABEL]: userId };
}

/** Labels of every object of an environment: name, managed-by, environment id and user id. */
export function environmentLabels(env: EnvironmentRef): Record<string, string> {
  assertLabelValue(env.id, 'environment id');
  assertLabelValue(env.userId, 'user id');
  return { [NAME_LABEL]: APP_NAME, [MANAGED_BY_LABEL]: MANAGED_BY, [ENVIRONMENT_ID_LABEL]: env.id, [USER_ID_LABEL]: env.userId };
}

/** The StatefulSet's pod selector (immutable once created): name and environment id. */
export function environmentSelector(environmentId: string): Record<string, string> {
  return { [NAME_LABEL]: APP_NAME, [ENVIRONMENT_ID_LABEL]: environmentId };
}

/** Whether `labels` (an object's metadata.labels) mark it as a DevPocket object of `environmentId`. */
export function isEnvironmentObject(labels: Record<string, string> | undefined, environmentId: string): boolean {
  return labels?.[MANAGED_BY_LABEL] === MANAGED_BY && labels[ENVIRONMENT_ID_LABEL] === environmentId;
}

/** Whether a namespace's labels mark it as one this server manages. */
export function isManagedNamespace(labels: Record<string, string> | undefined): boolean {
  return labels?.[MANAGED_BY_LABEL] === MANAGED_BY;
}

function assertLabelValue(value: string, what: string): void {
  if (!/^(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)$/.test(value)) {
    throw new Error(`The ${what} ${JSON.stringify(value)} is not a valid label value`);
  }
}
