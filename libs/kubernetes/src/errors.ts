import { ApiException } from '@kubernetes/client-node';

/** One entry of a Status's `details.causes` (a 422 Invalid lists one per rejected field). */
export interface KubeStatusCause {
  field?: string;
  message?: string;
  reason?: string;
}

/**
 * An answer of the Kubernetes API other than 2xx, as a domain error. Keeps the HTTP status,
 * the Status `reason` (e.g. `NotFound`, `AlreadyExists`, `Forbidden`, `Invalid`, `Expired`)
 * and `details.causes`, following the Kubernetes API conventions
 * (https://github.com/kubernetes/community/blob/master/contributors/devel/sig-architecture/api-conventions.md#response-status-kind).
 * `message` reads `Could not <action>: <Status message> (<reason>, HTTP <status>)`.
 */
export class KubeApiError extends Error {
  /** The HTTP status code, e.g. 404. */
  readonly status: number;
  /** The Status `reason`; inferred from the HTTP status when the answer had no Status body. */
  readonly reason: string;
  /** `details.causes` of the Status, `[]` when none. */
  readonly causes: KubeStatusCause[];
  /** The Status message as the API server wrote it (no action prefix). */
  readonly statusMessage: string;
  /** What was attempted, e.g. `create StatefulSet devpocket-1a2b3c4d/dp-…`. */
  readonly action: string;

  constructor(
    action: string,
    fields: { status: number; reason: string; statusMessage: string; causes?: KubeStatusCause[] },
    options?: { cause?: unknown },
  ) {
    super(`Could not ${action}: ${fields.statusMessage} (${fields.reason}, HTTP ${fields.status})`, options);
    this.name = 'KubeApiError';
    this.action = action;
    this.status = fields.status;
    this.reason = fields.reason;
    this.statusMessage = fields.statusMessage;
    this.causes = fields.causes ?? [];
  }
}

/**
 * The API server could not be reached or did not answer in time (DNS, refused connection, TLS,
 * reset, timeout). `code` is the system error code when there is one (`ECONNREFUSED`, `ENOTFOUND`,
 * `UND_ERR_SOCKET`, `TimeoutError`).
 */
export class KubeConnectionError extends Error {
  readonly code?: string;
  readonly action: string;

  constructor(action: string, detail: string, code: string | undefined, options?: { cause?: unknown }) {
    super(`Could not ${action}: the Kubernetes API server did not answer (${detail})`, options);
    this.name = 'KubeConnectionError';
    this.action = action;
    this.code = code;
  }
}

/**
 * Reasons by HTTP status when the answer carries no Status (a 401 from client-node, a refused
 * WebSocket upgrade, a watch that failed before streaming), per the API conventions' table of
 * HTTP status codes.
 */
const REASON_BY_STATUS: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  406: 'NotAcceptable',
  409: 'Conflict',
  410: 'Expired',
  413: 'RequestEntityTooLarge',
  415: 'UnsupportedMediaType',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

/** The reason the API conventions give an HTTP status, `Unknown` for others. */
export function reasonForStatus(status: number): string {
  return REASON_BY_STATUS[status] ?? 'Unknown';
}

/**
 * The one place where an error thrown by @kubernetes/client-node (or by the WebSocket and fetch
 * it uses) becomes a domain error:
 * - an `ApiException` (`code` = HTTP status, `body` = the Status as JSON text, as an object, or
 *   undefined for a 401) → {@link KubeApiError} with the Status's reason, message and causes;
 * - an error with a numeric `statusCode` (client-node's Watch) or a WebSocket handshake refused
 *   with `Unexpected server response: <status>` → {@link KubeApiError} with the reason inferred;
 * - a failed fetch (`TypeError: fetch failed` and its `cause`), a socket error or a timeout →
 *   {@link KubeConnectionError};
 * - anything else → a plain Error `Could not <action>: <message>` with the original as `cause`.
 * An error already translated is returned as it is.
 *
 * @param action what was attempted, in words, e.g. `create ConfigMap devpocket-1a2b3c4d/dp-…`.
 */
export function translateKubeError(error: unknown, action: string): KubeApiError | Error {
  if (error instanceof KubeApiError || error instanceof KubeConnectionError) return error;
  if (error instanceof ApiException || isApiExceptionShape(error)) {
    const status = Number(error.code);
    const body = parseStatusBody(error.body);
    const reason = body?.reason || reasonForStatus(status);
    const causes = body?.details?.causes?.map(cleanCause) ?? [];
    const statusMessage = body?.message || describeCauses(causes) || `the API server answered HTTP ${status}`;
    return new KubeApiError(action, { status, reason, statusMessage, causes }, { cause: error });
  }
  if (isRecord(error) && typeof error.statusCode === 'number') {
    const status = error.statusCode;
    const message = typeof error.message === 'string' && error.message ? error.message : `HTTP ${status}`;
    return new KubeApiError(action, { status, reason: reasonForStatus(status), statusMessage: message }, { cause: error });
  }
  const inner = unwrapErrorEvent(error);
  const upgrade = /Unexpected server response: (\d{3})/.exec(messageOf(inner));
  if (upgrade) {
    const status = Number(upgrade[1]);
    return new KubeApiError(action, { status, reason: reasonForStatus(status), statusMessage: `the WebSocket upgrade was refused with HTTP ${status}` }, { cause: error });
  }
  const connection = connectionFailure(inner);
  if (connection) return new KubeConnectionError(action, connection.detail, connection.code, { cause: error });
  return new Error(`Could not ${action}: ${messageOf(inner)}`, { cause: error });
}

/**
 * Runs one API call and translates whatever it throws with {@link translateKubeError}; the
 * clients call the API only through this, so no raw client-node error leaves the library.
 */
export async function kubeCall<T>(action: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw translateKubeError(error, action);
  }
}

/** Whether `error` is a {@link KubeApiError} with HTTP status `status` (and `reason`, when given). */
export function isKubeStatus(error: unknown, status: number, reason?: string): error is KubeApiError {
  return error instanceof KubeApiError && error.status === status && (reason === undefined || error.reason === reason);
}

/** A 404 NotFound: the object (or its namespace) does not exist. */
export function isNotFound(error: unknown): error is KubeApiError {
  return isKubeStatus(error, 404);
}

/** A 409 AlreadyExists from a create (not a 409 Conflict from an update with a stale resourceVersion). */
export function isAlreadyExists(error: unknown): error is KubeApiError {
  return isKubeStatus(error, 409, 'AlreadyExists');
}

interface StatusBody {
  message?: string;
  reason?: string;
  code?: number;
  details?: { causes?: KubeStatusCause[] };
}

function isApiExceptionShape(error: unknown): error is { code: number; body: unknown } {
  return isErrorLike(error) && typeof error.code === 'number' && 'body' in error && error.message.startsWith('HTTP-Code:');
}

/** A Status from an ApiException body: JSON text, an object, or nothing (401, empty body, HTML from a proxy). */
function parseStatusBody(body: unknown): StatusBody | undefined {
  let value = body;
  if (typeof body === 'string') {
    if (!body.trim()) return undefined;
    try {
      value = JSON.parse(body);
    } catch (parseError) {
      // Not a Status (a proxy's HTML page, plain text): its first line is the message.
      return { message: body.trim().split('\n')[0].slice(0, 300) };
    }
  }
  if (!isRecord(value)) return undefined;
  const details = isRecord(value.details) ? value.details : undefined;
  return {
    message: typeof value.message === 'string' ? value.message : undefined,
    reason: typeof value.reason === 'string' ? value.reason : undefined,
    code: typeof value.code === 'number' ? value.code : undefined,
    details: details && Array.isArray(details.causes) ? { causes: details.causes.filter(isRecord) as KubeStatusCause[] } : undefined,
  };
}

function cleanCause(cause: KubeStatusCause): KubeStatusCause {
  const clean: KubeStatusCause = {};
  if (typeof cause.field === 'string') clean.field = cause.field;
  if (typeof cause.message === 'string') clean.message = cause.message;
  if (typeof cause.reason === 'string') clean.reason = cause.reason;
  return clean;
}

function describeCauses(causes: KubeStatusCause[]): string {
  return causes
    .map((cause) => [cause.field, cause.message ?? cause.reason].filter(Boolean).join(': '))
    .filter(Boolean)
    .join('; ');
}

/** ws reports a failed handshake as an ErrorEvent `{ error, message }`; the Error is inside. */
function unwrapErrorEvent(error: unknown): unknown {
  if (isRecord(error) && error.type === 'error' && isErrorLike(error.error)) return error.error;
  return error;
}

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * A network-level failure: fetch's TypeError with a system-error cause, a socket error, a
 * timeout. Errors made by Node itself may come from another realm (Jest's VM modules), so they
 * are recognised by shape, not with instanceof.
 */
function connectionFailure(error: unknown): { detail: string; code?: string } | undefined {
  if (!isErrorLike(error)) return undefined;
  if (error.name === 'TimeoutError') return { detail: 'timed out', code: 'TimeoutError' };
  const cause = isErrorLike(error.cause) ? error.cause : undefined;
  for (const candidate of cause ? [cause, error] : [error]) {
    const code = typeof candidate.code === 'string' ? candidate.code : undefined;
    if (code && CONNECTION_CODES.has(code)) return { detail: `${code}: ${candidate.message}`, code };
    if (candidate.name === 'TimeoutError' || candidate.name === 'AbortError') return { detail: candidate.message || 'aborted', code: candidate.name };
  }
  if (error.message === 'fetch failed' || error.message === 'terminated') {
    return { detail: cause ? cause.message : error.message };
  }
  return undefined;
}

function isErrorLike(value: unknown): value is { name: string; message: string; code?: unknown; cause?: unknown } {
  return isRecord(value) && typeof value.message === 'string' && typeof value.name === 'string';
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function messageOf(error: unknown): string {
  if (isRecord(error) && typeof error.message === 'string') return error.message;
  return String(error);
}
