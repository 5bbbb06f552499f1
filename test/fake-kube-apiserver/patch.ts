/**
 * The three PATCH flavours kube-apiserver accepts, applied to plain JSON objects:
 * - `application/json-patch+json` (RFC 6902: add, remove, replace, move, copy, test), the
 *   content type @kubernetes/client-node 2.x sends by default for every `patch*` call;
 * - `application/merge-patch+json` (RFC 7386: objects merge, `null` deletes, lists replace);
 * - `application/strategic-merge-patch+json`: a merge patch that merges the lists Kubernetes
 *   declares with a `patchMergeKey` (containers by `name`, volumeMounts by `mountPath`, ...)
 *   and honours the `$patch: delete|replace`, `$retainKeys`, `$deleteFromPrimitiveList/<f>` and
 *   `$setElementOrder/<f>` directives. The merge keys come from a table keyed by field name, not
 *   from the OpenAPI schema (see {@link MERGE_KEYS}).
 */

/** A patch that could not be applied (the real server answers 422, see `applyJSPatch`). */
export class PatchApplyError extends Error {
  override name = 'PatchApplyError';
}

/** A patch document that is not well-formed (the real server answers 400 BadRequest). */
export class PatchDecodeError extends Error {
  override name = 'PatchDecodeError';
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function clone<T>(value: T): T {
  return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
}

/** RFC 7386 JSON merge patch: returns a new document. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return clone(patch);
  const result: JsonObject = isObject(target) ? clone(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value) as Json;
  }
  return result;
}

/**
 * List fields that strategic merge patch merges by key (`patchStrategy:"merge"` plus
 * `patchMergeKey` in the Kubernetes Go types), by field name. `ports` merges by `containerPort`
 * for container ports and by `port` for Service ports (told apart by the items' keys).
 */
export const MERGE_KEYS: Record<string, string> = {
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  volumes: 'name',
  env: 'name',
  volumeMounts: 'mountPath',
  volumeDevices: 'devicePath',
  imagePullSecrets: 'name',
  conditions: 'type',
  ownerReferences: 'uid',
  hostAliases: 'ip',
  topologySpreadConstraints: 'topologyKey',
  ports: 'port',
};

/** Primitive lists merged as sets (`patchStrategy:"merge"` on a `[]string`). */
const MERGED_PRIMITIVE_LISTS = new Set(['finalizers']);

function mergeKeyFor(field: string, items: Json[]): string | undefined {
  if (field === 'ports' && items.some((item) => isObject(item) && 'containerPort' in item)) return 'containerPort';
  return MERGE_KEYS[field];
}

/** Strategic merge patch (see the module comment for what is supported): returns a new document. */
export function strategicMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return clone(patch);
  if (patch.$patch === 'replace') {
    const { $patch: _directive, ...rest } = patch;
    return clone(rest);
  }
  if (patch.$patch === 'delete') return undefined;
  const result: JsonObject = isObject(target) ? clone(target) : {};
  const retainKeys = Array.isArray(patch.$retainKeys) ? (patch.$retainKeys as string[]) : undefined;
  for (const [key, value] of Object.entries(patch)) {
    if (key === '$retainKeys' || key === '$patch' || key.startsWith('$setElementOrder/')) continue;
    if (key.startsWith('$deleteFromPrimitiveList/')) {
      const field = key.slice('$deleteFromPrimitiveList/'.length);
      if (Array.isArray(result[field]) && Array.isArray(value)) {
        result[field] = (result[field] as Json[]).filter((item) => !value.includes(item));
      }
      continue;
    }
    if (value === null) {
      delete result[key];
    } else if (Array.isArray(value)) {
      const merged = mergeList(key, result[key], value);
      if (merged === undefined) delete result[key];
      else result[key] = merged;
    } else {
      const merged = strategicMergePatch(result[key], value);
      if (merged === undefined) delete result[key];
      else result[key] = merged as Json;
    }
  }
  if (retainKeys) {
    for (const key of Object.keys(result)) if (!retainKeys.includes(key) && !(key in patch)) delete result[key];
  }
  return result;
}

function mergeList(field: string, current: Json | undefined, patchItems: Json[]): Json[] | undefined {
  const replaceDirective = patchItems.find((item) => isObject(item) && item.$patch === 'replace' && Object.keys(item).length === 1);
  if (replaceDirective) return clone(patchItems.filter((item) => item !== replaceDirective));
  const existing = Array.isArray(current) ? clone(current) : [];
  if (MERGED_PRIMITIVE_LISTS.has(field)) {
    const out = [...existing];
    for (const item of patchItems) if (!out.includes(item)) out.push(item);
    return out;
  }
  const key = mergeKeyFor(field, [...existing, ...patchItems]);
  if (!key || !patchItems.every(isObject)) return clone(patchItems);
  const out = existing;
  for (const item of patchItems as JsonObject[]) {
    const index = out.findIndex((candidate) => isObject(candidate) && candidate[key] === item[key]);
    if (item.$patch === 'delete') {
      if (index >= 0) out.splice(index, 1);
      continue;
    }
    if (index >= 0) out[index] = strategicMergePatch(out[index], item) as Json;
    else out.push(strategicMergePatch({}, item) as Json);
  }
  return out;
}

/** One RFC 6902 operation. */
interface JsonPatchOperation {
  op: 'add' | 'remove' | 'replace' | 'move' | 'copy' | 'test';
  path: string;
  from?: string;
  value?: unknown;
}

/** Validates the shape of an RFC 6902 document; throws {@link PatchDecodeError}. */
export function decodeJsonPatch(document: unknown): JsonPatchOperation[] {
  if (!Array.isArray(document)) throw new PatchDecodeError('json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  return document.map((op) => {
    if (!isObject(op) || typeof op.op !== 'string' || typeof op.path !== 'string') {
      throw new PatchDecodeError('json patch operation must have string "op" and "path"');
    }
    if (!['add', 'remove', 'replace', 'move', 'copy', 'test'].includes(op.op)) throw new PatchDecodeError(`Unexpected kind: ${op.op}`);
    return op as unknown as JsonPatchOperation;
  });
}

function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new PatchApplyError(`JSON pointer must start with "/": ${JSON.stringify(pointer)}`);
  return pointer.slice(1).split('/').map((token) => token.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** Resolves the container (object or array) holding the last token of `path`. */
function parentOf(doc: Json, tokens: string[], op: string, path: string): { parent: JsonObject | Json[]; last: string } {
  let node: Json = doc;
  for (const token of tokens.slice(0, -1)) {
    if (Array.isArray(node)) node = node[Number(token)];
    else if (isObject(node)) node = node[token];
    else node = null;
    if (node === undefined || node === null || typeof node !== 'object') {
      throw new PatchApplyError(`${op} operation does not apply: doc is missing path: ${JSON.stringify(path)}: missing value`);
    }
  }
  return { parent: node as JsonObject | Json[], last: tokens[tokens.length - 1] };
}

function arrayIndex(token: string, length: number, allowEnd: boolean, op: string, path: string): number {
  if (allowEnd && token === '-') return length;
  if (!/^(0|[1-9][0-9]*)$/.test(token)) throw new PatchApplyError(`${op} operation does not apply: invalid array index ${JSON.stringify(token)} in ${JSON.stringify(path)}`);
  const index = Number(token);
  if (index > length || (!allowEnd && index === length)) throw new PatchApplyError(`${op} operation does not apply: index out of bounds: ${JSON.stringify(path)}`);
  return index;
}

function getAt(doc: Json, path: string, op: string): Json {
  let node: Json | undefined = doc;
  for (const token of parsePointer(path)) {
    if (Array.isArray(node)) node = node[Number(token)];
    else if (isObject(node)) node = node[token];
    else node = undefined;
    if (node === undefined) throw new PatchApplyError(`${op} operation does not apply: doc is missing path: ${JSON.stringify(path)}: missing value`);
  }
  return node as Json;
}

function addAt(doc: Json, path: string, value: Json, op: string): Json {
  const tokens = parsePointer(path);
  if (tokens.length === 0) return value;
  const { parent, last } = parentOf(doc, tokens, op, path);
  if (Array.isArray(parent)) parent.splice(arrayIndex(last, parent.length, true, op, path), 0, value);
  else parent[last] = value;
  return doc;
}

function removeAt(doc: Json, path: string, op: string): Json {
  const tokens = parsePointer(path);
  if (tokens.length === 0) throw new PatchApplyError(`${op} operation does not apply: cannot remove the whole document`);
  const { parent, last } = parentOf(doc, tokens, op, path);
  if (Array.isArray(parent)) {
    parent.splice(arrayIndex(last, parent.length, false, op, path), 1);
  } else {
    if (!(last in parent)) throw new PatchApplyError(`${op} operation does not apply: doc is missing path: ${JSON.stringify(path)}: missing value`);
    delete parent[last];
  }
  return doc;
}

/** Applies RFC 6902 operations to a copy of `target`; throws {@link PatchApplyError} when one does not apply. */
export function applyJsonPatch(target: unknown, operations: JsonPatchOperation[]): unknown {
  let doc = clone(target) as Json;
  for (const operation of operations) {
    const { op, path } = operation;
    switch (op) {
      case 'add':
        doc = addAt(doc, path, clone(operation.value) as Json, op);
        break;
      case 'remove':
        doc = removeAt(doc, path, op);
        break;
      case 'replace':
        getAt(doc, path, op);
        doc = parsePointer(path).length === 0 ? (clone(operation.value) as Json) : addAt(removeAt(doc, path, op), path, clone(operation.value) as Json, op);
        break;
      case 'move': {
        const value = getAt(doc, operation.from ?? '', op);
        doc = addAt(removeAt(doc, operation.from ?? '', op), path, value, op);
        break;
      }
      case 'copy':
        doc = addAt(doc, path, clone(getAt(doc, operation.from ?? '', op)), op);
        break;
      case 'test':
        if (JSON.stringify(getAt(doc, path, op)) !== JSON.stringify(operation.value)) {
          throw new PatchApplyError(`testing value ${path} failed: test failed`);
        }
        break;
    }
  }
  return doc;
}
