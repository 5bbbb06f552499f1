import { StringDecoder } from 'node:string_decoder';
import { Writable, type Readable } from 'node:stream';
import { CoreV1Api, Log, type KubeConfig, type V1Pod, type V1PodList } from '@kubernetes/client-node';
import { deleteIfExists, readIfExists } from './create-or-adopt.js';
import { kubeCall, translateKubeError } from './errors.js';
import type { RbacRule } from './rbac.js';
import { DEFAULT_REQUEST_TIMEOUT_MS, requestOptions, type KubeClientOptions } from './request-options.js';

/** A followed container log: {@link stop} it; {@link done} settles when the stream ends. */
export interface LogFollow {
  /** Aborts the stream (idempotent); {@link done} then resolves. */
  stop(): void;
  /** Resolves when the log ends (container exited, pod deleted, stopped); rejects with a translated error when the connection fails. */
  done: Promise<void>;
}

/**
 * Pods (core/v1) and their logs: read, delete, list across namespaces for the cluster watch,
 * the tail of a container's log, and a followed log (client-node `Log`).
 * Every method throws KubeApiError / KubeConnectionError (see translateKubeError).
 */
export class PodClient {
  /** The RBAC this class needs: exactly the calls below (`watch` is the cluster watch's). */
  static readonly rbac: readonly RbacRule[] = [
    { apiGroup: '', resource: 'pods', verbs: ['get', 'delete', 'list'] },
    { apiGroup: '', resource: 'pods/log', verbs: ['get'] },
  ];

  private readonly api: CoreV1Api;
  private readonly log: Log;
  private readonly timeoutMs: number;

  constructor(kubeConfig: KubeConfig, options: KubeClientOptions = {}) {
    this.api = kubeConfig.makeApiClient(CoreV1Api);
    this.log = new Log(kubeConfig);
    this.timeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  }

  /** GET …/pods/{name}; undefined on 404. */
  get(namespace: string, name: string): Promise<V1Pod | undefined> {
    return readIfExists(() => kubeCall(`read Pod ${namespace}/${name}`, () => this.api.readNamespacedPod({ namespace, name }, requestOptions(this.timeoutMs))));
  }

  /** DELETE …/pods/{name} with the pod's own grace period; false when it was already gone (404). */
  deleteIfExists(namespace: string, name: string): Promise<boolean> {
    return deleteIfExists(() => kubeCall(`delete Pod ${namespace}/${name}`, () => this.api.deleteNamespacedPod({ namespace, name }, requestOptions(this.timeoutMs))));
  }

  /** GET /api/v1/pods?labelSelector=…: across every namespace (the cluster watch's list). */
  listAllNamespaces(labelSelector: string): Promise<V1PodList> {
    return kubeCall(`list Pods (${labelSelector})`, () => this.api.listPodForAllNamespaces({ labelSelector }, requestOptions(this.timeoutMs)));
  }

  /**
   * The last `tailLines` (≥ 1) lines of a container's log, oldest first, without line ends.
   * @throws KubeApiError 404 when the pod is gone, 400 BadRequest while the container has not started.
   */
  async logTail(namespace: string, pod: string, container: string, tailLines: number): Promise<string[]> {
    const text = await kubeCall(`read the log of container ${container} of Pod ${namespace}/${pod}`, () =>
      this.api.readNamespacedPodLog({ namespace, name: pod, container, tailLines }, requestOptions(this.timeoutMs)),
    );
    return splitLines(typeof text === 'string' ? text : String(text ?? ''));
  }

  /**
   * Follows a container's log (`follow=true`), calling `onLine` with each complete line (UTF-8,
   * no line end) from the last `tailLines` (all when undefined) on.
   *
   * client-node's `Log` pipes the response into `sink` without listening for the response's
   * errors (an abort or a dropped connection would be an uncaught exception); the `pipe` event
   * hands that stream over so that its errors are handled here.
   * @throws KubeApiError when the API server refuses the request (404 pod gone, 400 not started).
   */
  async followLog(namespace: string, pod: string, container: string, options: { tailLines?: number }, onLine: (line: string) => void): Promise<LogFollow> {
    const action = `follow the log of container ${container} of Pod ${namespace}/${pod}`;
    let stopped = false;
    let settle!: { resolve: () => void; reject: (error: unknown) => void };
    const done = new Promise<void>((resolve, reject) => {
      settle = { resolve, reject };
    });
    const lines = new LineSplitter(onLine);
    const sink = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        lines.push(chunk);
        callback();
      },
      final(callback) {
        lines.end();
        callback();
      },
    });
    sink.on('pipe', (source: Readable) => {
      source.on('error', (error: unknown) => {
        if (stopped) settle.resolve();
        else settle.reject(translateKubeError(error, action));
      });
    });
    sink.on('finish', () => settle.resolve());
    let controller: AbortController;
    try {
      controller = await this.log.log(namespace, pod, container, sink, { follow: true, tailLines: options.tailLines });
    } catch (error) {
      throw translateKubeError(error, action);
    }
    return {
      stop() {
        if (stopped) return;
        stopped = true;
        controller.abort();
        settle.resolve();
      },
      done,
    };
  }
}

/** Splits UTF-8 bytes into lines, never inside a code point; a last line without `\n` is emitted at the end. */
class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private partial = '';

  constructor(private readonly onLine: (line: string) => void) {}

  push(chunk: Buffer): void {
    this.partial += this.decoder.write(chunk);
    let index: number;
    while ((index = this.partial.indexOf('\n')) >= 0) {
      this.onLine(this.partial.slice(0, index).replace(/\r$/, ''));
      this.partial = this.partial.slice(index + 1);
    }
  }

  end(): void {
    this.partial += this.decoder.end();
    if (this.partial) this.onLine(this.partial.replace(/\r$/, ''));
    this.partial = '';
  }
}

/** Log text → lines without their ends; no empty last line for a trailing `\n`. */
export function splitLines(text: string): string[] {
  if (!text) return [];
  const lines = text.split('\n').map((line) => line.replace(/\r$/, ''));
  if (lines.at(-1) === '') lines.pop();
  return lines;
}
