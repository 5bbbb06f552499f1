import { Observable, PatchStrategy, setHeaderOptions, type ConfigurationOptions, type ObservableMiddleware, type RequestContext, type ResponseContext } from '@kubernetes/client-node';

/** Default upper bound of one API request (not of a watch or a followed log), in milliseconds. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

/** What every resource client accepts besides the KubeConfig. */
export interface KubeClientOptions {
  /** Upper bound of one request, in milliseconds; default {@link DEFAULT_REQUEST_TIMEOUT_MS}. */
  requestTimeoutMs?: number;
}

/**
 * Per-call options of client-node's generated APIs that abort the request after `timeoutMs`
 * (client-node sets no timeout: a wedged API server would hang a call forever).
 */
export function requestOptions(timeoutMs: number): ConfigurationOptions<ObservableMiddleware> {
  const timeout: ObservableMiddleware = {
    pre: (context: RequestContext) => {
      context.setSignal(AbortSignal.timeout(timeoutMs));
      return new Observable(Promise.resolve(context));
    },
    post: (response: ResponseContext) => new Observable(Promise.resolve(response)),
  };
  return { middleware: [timeout], middlewareMergeStrategy: 'append' };
}

/**
 * {@link requestOptions} for a JSON merge patch (RFC 7386): client-node's patch calls default
 * to a JSON Patch (RFC 6902) array otherwise.
 */
export function mergePatchOptions(timeoutMs: number): ConfigurationOptions<ObservableMiddleware> {
  return setHeaderOptions('Content-Type', PatchStrategy.MergePatch, requestOptions(timeoutMs));
}
