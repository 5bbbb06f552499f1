/**
 * Stable error codes of the API (API.md "Errors"): UPPER_SNAKE, never renamed once shipped.
 * Each maps to one HTTP status in {@link ERROR_STATUS}.
 */
export const ErrorCode = {
  VALIDATION_FAILED: 'VALIDATION_FAILED',
  INVALID_JSON: 'INVALID_JSON',
  INVALID_ID: 'INVALID_ID',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  UNSUPPORTED_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  UNAUTHORIZED: 'UNAUTHORIZED',
  INVALID_CREDENTIALS: 'INVALID_CREDENTIALS',
  INVALID_REFRESH_TOKEN: 'INVALID_REFRESH_TOKEN',
  REFRESH_TOKEN_REUSED: 'REFRESH_TOKEN_REUSED',
  FORBIDDEN: 'FORBIDDEN',
  NOT_FOUND: 'NOT_FOUND',
  USER_NOT_FOUND: 'USER_NOT_FOUND',
  TEMPLATE_NOT_FOUND: 'TEMPLATE_NOT_FOUND',
  ENVIRONMENT_NOT_FOUND: 'ENVIRONMENT_NOT_FOUND',
  CLUSTER_NOT_FOUND: 'CLUSTER_NOT_FOUND',
  INVALID_KUBECONFIG: 'INVALID_KUBECONFIG',
  CLUSTER_NAME_TAKEN: 'CLUSTER_NAME_TAKEN',
  CLUSTER_IN_USE: 'CLUSTER_IN_USE',
  METHOD_NOT_ALLOWED: 'METHOD_NOT_ALLOWED',
  EMAIL_TAKEN: 'EMAIL_TAKEN',
  USERNAME_TAKEN: 'USERNAME_TAKEN',
  ENVIRONMENT_NAME_TAKEN: 'ENVIRONMENT_NAME_TAKEN',
  INVALID_STATE: 'INVALID_STATE',
  TEMPLATE_UNAVAILABLE: 'TEMPLATE_UNAVAILABLE',
  ACCOUNT_LOCKED: 'ACCOUNT_LOCKED',
  ACCOUNT_DISABLED: 'ACCOUNT_DISABLED',
  RATE_LIMITED: 'RATE_LIMITED',
  ENVIRONMENT_NOT_RUNNING: 'ENVIRONMENT_NOT_RUNNING',
  TOO_MANY_CONNECTIONS: 'TOO_MANY_CONNECTIONS',
  SESSION_EXPIRED: 'SESSION_EXPIRED',
  SERVICE_UNAVAILABLE: 'SERVICE_UNAVAILABLE',
  INTERNAL_ERROR: 'INTERNAL_ERROR',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** The HTTP status of each error code. */
export const ERROR_STATUS: Record<ErrorCode, number> = {
  VALIDATION_FAILED: 400,
  INVALID_JSON: 400,
  INVALID_ID: 400,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  UNAUTHORIZED: 401,
  INVALID_CREDENTIALS: 401,
  INVALID_REFRESH_TOKEN: 401,
  REFRESH_TOKEN_REUSED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  USER_NOT_FOUND: 404,
  TEMPLATE_NOT_FOUND: 404,
  ENVIRONMENT_NOT_FOUND: 404,
  CLUSTER_NOT_FOUND: 404,
  INVALID_KUBECONFIG: 400,
  CLUSTER_NAME_TAKEN: 409,
  CLUSTER_IN_USE: 409,
  METHOD_NOT_ALLOWED: 405,
  EMAIL_TAKEN: 409,
  USERNAME_TAKEN: 409,
  ENVIRONMENT_NAME_TAKEN: 409,
  INVALID_STATE: 422,
  TEMPLATE_UNAVAILABLE: 422,
  ACCOUNT_LOCKED: 423,
  ACCOUNT_DISABLED: 401,
  RATE_LIMITED: 429,
  ENVIRONMENT_NOT_RUNNING: 422,
  TOO_MANY_CONNECTIONS: 429,
  SESSION_EXPIRED: 410,
  SERVICE_UNAVAILABLE: 503,
  INTERNAL_ERROR: 500,
};

/** One item of an error's `details`: which input field, and what is wrong with it. */
export interface ErrorDetail {
  field?: string;
  message: string;
}

/**
 * A typed domain error: services throw it, and one filter per transport maps it to the wire
 * (HTTP: status from {@link ERROR_STATUS} and the body `{statusCode, code, message, details?}`;
 * Socket.IO: an `error`/ack `{code, message}`; plain WS: an `error` frame).
 */
export class DomainException extends Error {
  override name = 'DomainException';

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: ErrorDetail[],
    /** Extra response headers, e.g. `Retry-After` in seconds. */
    readonly headers?: Record<string, string>,
  ) {
    super(message);
  }

  /** The HTTP status this error maps to. */
  get status(): number {
    return ERROR_STATUS[this.code];
  }
}
