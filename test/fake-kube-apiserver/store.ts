/**
 * The fake's etcd: objects by kind and `namespace/name`, one global resourceVersion counter
 * (every write bumps it and stamps the object, like etcd's revision), and a bounded history of
 * change events from which watches replay ("watch from resourceVersion N"). A resourceVersion
 * older than the history (or than the last {@link ObjectStore.compact}) is "too old" and answers
 * 410 Expired, as after an etcd compaction.
 */

/** The change kinds a watch delivers (BOOKMARK and ERROR are made by the watch itself). */
export type ChangeType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** One write, as kept in the history and handed to listeners. */
export interface ChangeEvent {
  type: ChangeType;
  /** The resourceVersion of this write. */
  rv: number;
  kind: string;
  namespace?: string;
  name: string;
  /** The object after the write (for DELETED: its last state, stamped with the delete's RV). */
  object: any;
  /** The object before the write (undefined for ADDED). */
  previous?: any;
}

/** How many change events the history keeps; a watch from before the oldest one gets 410. */
export const HISTORY_LIMIT = 2000;

/** Deep copy of a JSON-shaped object. */
export function cloneJson<T>(value: T): T {
  return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
}

/** Compares two objects ignoring `metadata.resourceVersion` and key order: is a write a no-op? */
function sameContent(a: any, b: any): boolean {
  const strip = (o: any) => {
    const copy = cloneJson(o);
    if (copy?.metadata) delete copy.metadata.resourceVersion;
    return canonical(copy);
  };
  return strip(a) === strip(b);
}

function canonical(value: any): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .filter((key) => value[key] !== undefined)
      .map((key) => `${JSON.stringify(key)}:${canonical(value[key])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

function keyOf(namespace: string | undefined, name: string): string {
  return `${namespace ?? ''}/${name}`;
}

/** See the module comment. Objects go in and out as deep copies; callers never share references. */
export class ObjectStore {
  private revision = 1;
  private readonly objects = new Map<string, Map<string, any>>();
  private history: ChangeEvent[] = [];
  /** Every event with `rv > floor` is in {@link history}; a watch may start from `rv >= floor`. */
  private floor = 1;
  private readonly listeners = new Set<(event: ChangeEvent) => void>();

  /** The latest resourceVersion (what a list answers in `metadata.resourceVersion`). */
  currentRV(): number {
    return this.revision;
  }

  /** The oldest resourceVersion a watch may still start from. */
  oldestRV(): number {
    return this.floor;
  }

  /** Forgets the history: every resourceVersion older than the current one becomes "too old". */
  compact(): void {
    this.history = [];
    this.floor = this.revision;
  }

  /** Calls `listener` synchronously after every write; returns the unsubscribe function. */
  subscribe(listener: (event: ChangeEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The events after `rv` (oldest first); the caller checked `rv >= oldestRV()`. */
  eventsSince(rv: number): ChangeEvent[] {
    return this.history.filter((event) => event.rv > rv).map((event) => cloneJson(event));
  }

  /** A copy of the stored object, or undefined. */
  get(kind: string, namespace: string | undefined, name: string): any | undefined {
    return cloneJson(this.objects.get(kind)?.get(keyOf(namespace, name)));
  }

  /** Copies of the objects of a kind (optionally in one namespace), sorted by namespace then name like etcd keys. */
  list(kind: string, namespace?: string): any[] {
    const all = [...(this.objects.get(kind)?.values() ?? [])];
    return all
      .filter((object) => namespace === undefined || object.metadata.namespace === namespace)
      .sort((a, b) => keyOf(a.metadata.namespace, a.metadata.name).localeCompare(keyOf(b.metadata.namespace, b.metadata.name)))
      .map((object) => cloneJson(object));
  }

  /** Stores a new object (the caller checked it does not exist), stamps its resourceVersion; returns the stored copy. */
  create(kind: string, object: any): any {
    const stored = cloneJson(object);
    stored.metadata.resourceVersion = String(++this.revision);
    let byKey = this.objects.get(kind);
    if (!byKey) this.objects.set(kind, (byKey = new Map()));
    byKey.set(keyOf(stored.metadata.namespace, stored.metadata.name), stored);
    this.emit({ type: 'ADDED', rv: this.revision, kind, namespace: stored.metadata.namespace, name: stored.metadata.name, object: stored });
    return cloneJson(stored);
  }

  /**
   * Replaces an existing object. A write that changes nothing (ignoring resourceVersion) is a
   * no-op, as in the real server: no new resourceVersion, no event. Returns the stored copy.
   */
  update(kind: string, object: any): any {
    const key = keyOf(object.metadata.namespace, object.metadata.name);
    const byKey = this.objects.get(kind);
    const previous = byKey?.get(key);
    if (!byKey || !previous) throw new Error(`update of a missing ${kind} ${key}`);
    if (sameContent(previous, object)) return cloneJson(previous);
    const stored = cloneJson(object);
    stored.metadata.resourceVersion = String(++this.revision);
    byKey.set(key, stored);
    this.emit({ type: 'MODIFIED', rv: this.revision, kind, namespace: stored.metadata.namespace, name: stored.metadata.name, object: stored, previous });
    return cloneJson(stored);
  }

  /** Removes an object; returns its last state stamped with the delete's resourceVersion, or undefined if absent. */
  remove(kind: string, namespace: string | undefined, name: string): any | undefined {
    const byKey = this.objects.get(kind);
    const previous = byKey?.get(keyOf(namespace, name));
    if (!byKey || !previous) return undefined;
    byKey.delete(keyOf(namespace, name));
    const last = cloneJson(previous);
    last.metadata.resourceVersion = String(++this.revision);
    this.emit({ type: 'DELETED', rv: this.revision, kind, namespace, name, object: last, previous });
    return cloneJson(last);
  }

  private emit(event: ChangeEvent): void {
    this.history.push(event);
    if (this.history.length > HISTORY_LIMIT) {
      const dropped = this.history.splice(0, this.history.length - HISTORY_LIMIT);
      this.floor = Math.max(this.floor, dropped[dropped.length - 1].rv);
    }
    for (const listener of [...this.listeners]) listener(cloneJson(event));
  }
}
