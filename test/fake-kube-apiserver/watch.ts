/**
 * Watch streams (`GET <collection>?watch=true`), served as kube-apiserver serves them over
 * HTTP/1.1: status 200 with the headers flushed at once, `Transfer-Encoding: chunked`,
 * `Content-Type: application/json`, then one JSON event per line,
 * `{"type":"ADDED"|"MODIFIED"|"DELETED"|"BOOKMARK"|"ERROR","object":{...}}`.
 *
 * Mirrors the watch cache's behaviour:
 * - `resourceVersion` unset or `"0"`: synthetic ADDED events for the current objects, then changes;
 * - `resourceVersion=N`: replays the changes after N from the history, then live changes;
 *   N older than the history → one ERROR event carrying a 410 `Expired` Status, then the end;
 *   N newer than the store → ERROR 504 "Too large resource version";
 * - label/field selectors turn transitions into ADDED (now matches) / DELETED (no longer matches);
 * - `allowWatchBookmarks=true`: a BOOKMARK (`{kind, apiVersion, metadata:{resourceVersion}}`)
 *   every {@link WatchHubOptions.bookmarkIntervalMs}; with `sendInitialEvents=true` the initial
 *   ADDED events end with a BOOKMARK annotated `k8s.io/initial-events-end: "true"`;
 * - `timeoutSeconds`: the stream ends cleanly after that many seconds;
 * - a watcher that stops reading is terminated once its backlog exceeds
 *   {@link MAX_WATCH_BACKLOG_BYTES} (the cacher drops blocked watchers too).
 */
import type { ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { apiVersionOf, type ResourceType } from './resources.js';
import { matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector, type FieldRequirement, type LabelSelector } from './selectors.js';
import { ApiStatusError, badRequest, expired, tooLargeResourceVersion, type StatusBody } from './status.js';
import { cloneJson, type ChangeEvent, type ObjectStore } from './store.js';

/** Bytes of unread events after which a watcher is cut off. */
export const MAX_WATCH_BACKLOG_BYTES = 8 * 1024 * 1024;

/** Options of {@link WatchHub}. */
export interface WatchHubOptions {
  /** Period of BOOKMARK events for watches that allow them, in milliseconds. */
  bookmarkIntervalMs: number;
}

/** One open watch stream. */
interface OpenWatch {
  type: ResourceType;
  namespace?: string;
  labels: LabelSelector;
  fields: FieldRequirement[];
  res: ServerResponse;
  /** The last resourceVersion this watcher was sent (for the 410 message). */
  lastRV: number;
  timers: NodeJS.Timeout[];
  ended: boolean;
}

/** Parameters of a watch request, from its query string. */
export interface WatchQuery {
  resourceVersion?: string;
  allowWatchBookmarks?: string;
  labelSelector?: string;
  fieldSelector?: string;
  timeoutSeconds?: string;
  sendInitialEvents?: string;
}

/** Serves and tracks watch streams over one {@link ObjectStore}. See the module comment. */
export class WatchHub {
  private readonly open = new Set<OpenWatch>();
  private readonly unsubscribe: () => void;

  constructor(
    private readonly store: ObjectStore,
    private readonly options: WatchHubOptions,
  ) {
    this.unsubscribe = store.subscribe((event) => this.deliver(event));
  }

  /** How many watch streams are open. */
  get size(): number {
    return this.open.size;
  }

  /**
   * Answers a watch request. Throws {@link ApiStatusError} (before any byte is written) for a
   * malformed selector or resourceVersion; everything after the headers goes into the stream.
   */
  serve(res: ServerResponse, type: ResourceType, namespace: string | undefined, query: WatchQuery): void {
    const labels = parseLabelSelector(query.labelSelector);
    const fields = parseFieldSelector(query.fieldSelector, type.kind);
    const rvText = query.resourceVersion ?? '';
    if (rvText !== '' && !/^[0-9]+$/.test(rvText)) throw new ApiStatusError(badRequest(`invalid resource version: ${JSON.stringify(rvText)}`));
    const bookmarks = query.allowWatchBookmarks === 'true' || query.allowWatchBookmarks === '1';
    const initialEvents = query.sendInitialEvents === 'true';
    const timeoutSeconds = query.timeoutSeconds ? Number(query.timeoutSeconds) : undefined;

    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked', 'Audit-Id': randomUUID() });
    res.flushHeaders();
    const watch: OpenWatch = { type, namespace, labels, fields, res, lastRV: this.store.currentRV(), timers: [], ended: false };
    this.open.add(watch);
    // 'close' of the response: the stream ended or the client went away.
    res.on('close', () => this.forget(watch));

    const requested = rvText === '' ? undefined : Number(rvText);
    if (requested === undefined || requested === 0 || initialEvents) {
      for (const object of this.store.list(type.kind, namespace)) {
        if (this.visible(watch, object)) this.write(watch, 'ADDED', object);
      }
      if (initialEvents && bookmarks) this.bookmark(watch, { 'k8s.io/initial-events-end': 'true' });
    } else if (requested < this.store.oldestRV()) {
      this.fail(watch, expired(requested, this.store.oldestRV()));
      return;
    } else if (requested > this.store.currentRV()) {
      this.fail(watch, tooLargeResourceVersion(requested, this.store.currentRV()));
      return;
    } else {
      watch.lastRV = requested;
      for (const event of this.store.eventsSince(requested)) this.deliverTo(watch, event);
    }
    watch.lastRV = this.store.currentRV();

    if (bookmarks) {
      const timer = setInterval(() => this.bookmark(watch), this.options.bookmarkIntervalMs);
      watch.timers.push(timer);
    }
    if (timeoutSeconds !== undefined && timeoutSeconds > 0) {
      watch.timers.push(setTimeout(() => this.end(watch), timeoutSeconds * 1000));
    }
  }

  /** Destroys every open stream's socket: the client sees the connection drop mid-stream. */
  dropAll(): void {
    for (const watch of [...this.open]) {
      watch.ended = true;
      this.forget(watch);
      watch.res.socket?.destroy();
      watch.res.destroy();
    }
  }

  /** Sends every open stream an ERROR event with a 410 Expired Status and ends it. */
  expireAll(): void {
    for (const watch of [...this.open]) this.fail(watch, expired(watch.lastRV, this.store.oldestRV()));
  }

  /** Ends every stream cleanly and stops listening to the store. */
  close(): void {
    for (const watch of [...this.open]) this.end(watch);
    this.unsubscribe();
  }

  private forget(watch: OpenWatch): void {
    for (const timer of watch.timers) clearTimeout(timer);
    watch.timers = [];
    this.open.delete(watch);
  }

  private end(watch: OpenWatch): void {
    if (watch.ended) return;
    watch.ended = true;
    this.forget(watch);
    watch.res.end();
  }

  private fail(watch: OpenWatch, status: StatusBody): void {
    if (watch.ended) return;
    watch.res.write(`${JSON.stringify({ type: 'ERROR', object: status })}\n`);
    this.end(watch);
  }

  private visible(watch: OpenWatch, object: any): boolean {
    if (!object) return false;
    if (watch.namespace !== undefined && object.metadata?.namespace !== watch.namespace) return false;
    return matchesLabels(watch.labels, object.metadata?.labels) && matchesFields(watch.fields, object);
  }

  private deliver(event: ChangeEvent): void {
    for (const watch of [...this.open]) if (!watch.ended) this.deliverTo(watch, event);
  }

  private deliverTo(watch: OpenWatch, event: ChangeEvent): void {
    if (event.kind !== watch.type.kind) return;
    const now = event.type !== 'DELETED' && this.visible(watch, event.object);
    const before = event.type !== 'ADDED' && this.visible(watch, event.previous);
    if (event.type === 'DELETED') {
      if (before) this.write(watch, 'DELETED', event.object);
    } else if (now && before) this.write(watch, 'MODIFIED', event.object);
    else if (now) this.write(watch, 'ADDED', event.object);
    else if (before) this.write(watch, 'DELETED', event.object);
    watch.lastRV = event.rv;
  }

  private write(watch: OpenWatch, type: 'ADDED' | 'MODIFIED' | 'DELETED', object: any): void {
    const body = cloneJson(object);
    body.kind = watch.type.kind;
    body.apiVersion = apiVersionOf(watch.type);
    const ordered = { kind: body.kind, apiVersion: body.apiVersion, ...body };
    watch.res.write(`${JSON.stringify({ type, object: ordered })}\n`);
    if (watch.res.writableLength > MAX_WATCH_BACKLOG_BYTES) {
      watch.ended = true;
      this.forget(watch);
      watch.res.destroy();
    }
  }

  private bookmark(watch: OpenWatch, annotations?: Record<string, string>): void {
    if (watch.ended) return;
    const metadata: Record<string, unknown> = { resourceVersion: String(this.store.currentRV()) };
    if (annotations) metadata.annotations = annotations;
    watch.res.write(`${JSON.stringify({ type: 'BOOKMARK', object: { kind: watch.type.kind, apiVersion: apiVersionOf(watch.type), metadata } })}\n`);
    watch.lastRV = this.store.currentRV();
  }
}
