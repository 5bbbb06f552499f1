/**
 * `metav1.Status` bodies exactly as kube-apiserver writes them (k8s.io/apimachinery
 * `pkg/api/errors`): `{kind:'Status', apiVersion:'v1', metadata:{}, status:'Failure', message,
 * reason, details, code}`. The builders mirror `NewNotFound`, `NewAlreadyExists`, `NewInvalid`,
 * `NewForbidden`, `NewConflict`, `NewBadRequest`, `NewUnauthorized`, `NewResourceExpired` and
 * `NewGenericServerResponse`, including their message formats, so that a client's error handling
 * meets the same text and fields it would meet against a real cluster.
 */

/** One `details.causes[]` entry of a Status (`metav1.StatusCause`). */
export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

/** `metav1.StatusDetails`: `kind` holds the *resource* (plural) for most errors, as the real server does. */
export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

/** A `metav1.Status` object as serialized on the wire. */
export interface StatusBody {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure' | 'Success';
  message?: string;
  reason?: string;
  details?: StatusDetails;
  code?: number;
}

/** A group-qualified resource such as `pods` (core) or `statefulsets.apps`, used in error messages. */
export interface QualifiedResource {
  group: string;
  resource: string;
}

/** The error a handler throws to answer with a Status: HTTP code and body. */
export class ApiStatusError extends Error {
  constructor(readonly status: StatusBody) {
    super(status.message ?? status.reason ?? 'Failure');
    this.name = 'ApiStatusError';
  }

  /** The HTTP status code of the answer (the Status's `code`). */
  get code(): number {
    return this.status.code ?? 500;
  }
}

/** `pods` or `statefulsets.apps`: how the real server names a resource in messages. */
export function qualifiedName(qr: QualifiedResource): string {
  return qr.group ? `${qr.resource}.${qr.group}` : qr.resource;
}

/** A Failure Status; `details` is omitted when empty, like Go's `omitempty`. */
export function failure(code: number, reason: string, message: string, details?: StatusDetails): StatusBody {
  const body: StatusBody = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason };
  if (details && Object.keys(details).length > 0) body.details = details;
  body.code = code;
  return body;
}

function detailsOf(qr: QualifiedResource, name?: string): StatusDetails {
  const details: StatusDetails = {};
  if (name) details.name = name;
  if (qr.group) details.group = qr.group;
  details.kind = qr.resource;
  return details;
}

/** 404 NotFound: `pods "x" not found` (`errors.NewNotFound`). */
export function notFound(qr: QualifiedResource, name: string): StatusBody {
  return failure(404, 'NotFound', `${qualifiedName(qr)} "${name}" not found`, detailsOf(qr, name));
}

/** 409 AlreadyExists: `pods "x" already exists` (`errors.NewAlreadyExists`). */
export function alreadyExists(qr: QualifiedResource, name: string): StatusBody {
  return failure(409, 'AlreadyExists', `${qualifiedName(qr)} "${name}" already exists`, detailsOf(qr, name));
}

/**
 * 409 Conflict for a stale `metadata.resourceVersion` (`errors.NewConflict` with the registry's
 * `OptimisticLockErrorMsg`).
 */
export function conflict(qr: QualifiedResource, name: string, cause: string): StatusBody {
  return failure(409, 'Conflict', `Operation cannot be fulfilled on ${qualifiedName(qr)} "${name}": ${cause}`, detailsOf(qr, name));
}

/** The registry's optimistic-lock message, used with {@link conflict}. */
export const OPTIMISTIC_LOCK_MESSAGE = 'the object has been modified; please apply your changes to the latest version and try again';

/** One field error of a 422 Invalid (`field.Error`): `type` is the cause reason such as `FieldValueInvalid`. */
export interface FieldError {
  type: 'FieldValueInvalid' | 'FieldValueRequired' | 'FieldValueDuplicate' | 'FieldValueNotFound' | 'FieldValueForbidden' | 'FieldValueTooLong' | 'FieldValueNotSupported';
  field: string;
  /** The message without the field path, e.g. `Invalid value: "X": a lowercase RFC 1123 ...`. */
  detail: string;
}

/**
 * 422 Invalid (`errors.NewInvalid`): message `Kind "name" is invalid: <field>: <detail>` (several
 * errors are joined as `[a, b]`), details `{name, group?, kind: <Kind>, causes:[{reason, message, field}]}`.
 */
export function invalid(kind: string, group: string, name: string, errors: FieldError[]): StatusBody {
  const parts = errors.map((e) => `${e.field}: ${e.detail}`);
  const joined = parts.length === 1 ? parts[0] : `[${parts.join(', ')}]`;
  const details: StatusDetails = { name };
  if (group) details.group = group;
  details.kind = kind;
  details.causes = errors.map((e) => ({ reason: e.type, message: e.detail, field: e.field }));
  return failure(422, 'Invalid', `${kind} "${name}" is invalid: ${joined}`, details);
}

/**
 * 403 Forbidden for an RBAC denial, in the authorizer's words:
 * `pods "x" is forbidden: User "u" cannot create resource "pods" in API group "" in the namespace "ns"`.
 * `resource` may carry a subresource (`pods/exec`); `name` is omitted for collection verbs.
 */
export function rbacForbidden(user: string, verb: string, qr: QualifiedResource, subresource: string | undefined, name: string | undefined, namespace: string | undefined): StatusBody {
  const resourceText = subresource ? `${qr.resource}/${subresource}` : qr.resource;
  const scope = namespace ? `in the namespace "${namespace}"` : 'at the cluster scope';
  const subject = name ? `${qualifiedName(qr)} "${name}"` : qualifiedName(qr);
  const message = `${subject} is forbidden: User "${user}" cannot ${verb} resource "${resourceText}" in API group "${qr.group}" ${scope}`;
  return failure(403, 'Forbidden', message, detailsOf(qr, name));
}

/** 403 Forbidden with a reason text (`errors.NewForbidden(qr, name, err)`): `<res> "name" is forbidden: <why>`. */
export function forbidden(qr: QualifiedResource, name: string, why: string, causes?: StatusCause[]): StatusBody {
  const details = detailsOf(qr, name);
  if (causes) details.causes = causes;
  return failure(403, 'Forbidden', `${qualifiedName(qr)} "${name}" is forbidden: ${why}`, details);
}

/** 400 BadRequest (`errors.NewBadRequest`): no details. */
export function badRequest(message: string): StatusBody {
  return failure(400, 'BadRequest', message);
}

/** 401 Unauthorized as the authentication filter writes it. */
export function unauthorized(): StatusBody {
  return failure(401, 'Unauthorized', 'Unauthorized');
}

/** 405 MethodNotAllowed (`errors.NewMethodNotSupported`). */
export function methodNotAllowed(qr: QualifiedResource, verb: string): StatusBody {
  return failure(405, 'MethodNotAllowed', `${verb} is not supported on resources of kind "${qualifiedName(qr)}"`, detailsOf(qr));
}

/** 404 for a path no API serves (`errors.NewGenericServerResponse(404, ...)` of the not-found handler). */
export function pathNotFound(): StatusBody {
  return failure(404, 'NotFound', 'the server could not find the requested resource', { causes: [{ reason: 'UnexpectedServerResponse', message: '404 page not found' }] });
}

/** 410 Expired for a watch from a compacted resourceVersion: `too old resource version: 5 (10)`. */
export function expired(requested: number, oldest: number): StatusBody {
  return failure(410, 'Expired', `too old resource version: ${requested} (${oldest})`);
}

/** 504 Timeout of the watch cache for a resourceVersion it has not reached yet. */
export function tooLargeResourceVersion(requested: number, current: number): StatusBody {
  return failure(504, 'Timeout', `Too large resource version: ${requested}, current: ${current}`, {
    causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
    retryAfterSeconds: 1,
  });
}

/**
 * A Status for an arbitrary code and reason (what `faults.failNext` injects); `details.kind` and
 * `details.name` name the resource when known, and 429/503/504 carry `retryAfterSeconds: 1`.
 */
export function generic(code: number, reason: string, message: string, qr?: QualifiedResource, name?: string): StatusBody {
  const details: StatusDetails = qr ? detailsOf(qr, name) : {};
  if (code === 429 || code === 503 || code === 504) details.retryAfterSeconds = 1;
  return failure(code, reason, message, details);
}

/** The `Success` Status the registry returns for an immediate delete when it does not return the object. */
export function deleteSuccess(qr: QualifiedResource, name: string, uid: string): StatusBody {
  const details: StatusDetails = { name };
  if (qr.group) details.group = qr.group;
  details.kind = qr.resource;
  details.uid = uid;
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details };
}
