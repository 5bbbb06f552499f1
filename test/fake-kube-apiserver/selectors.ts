/**
 * Label and field selectors as the `labelSelector` / `fieldSelector` query parameters carry them
 * (k8s.io/apimachinery `labels.Parse` and `fields.ParseSelector`).
 */
import { ApiStatusError, badRequest } from './status.js';

/** One requirement of a label selector. */
type LabelRequirement =
  | { op: 'exists' | 'notexists'; key: string }
  | { op: 'in' | 'notin'; key: string; values: string[] }
  | { op: 'eq' | 'neq'; key: string; value: string };

/** A parsed label selector: every requirement must hold (an empty selector matches everything). */
export type LabelSelector = LabelRequirement[];

const KEY = /^([a-z0-9A-Z]([a-z0-9A-Z._/-]*[a-z0-9A-Z])?)$/;

/**
 * Parses `a=b,c==d,e!=f,g,!h,i in (x,y),j notin (z)` (equality- and set-based). Throws a 400
 * Status `unable to parse requirement: ...` for malformed input, like the real server.
 */
export function parseLabelSelector(text: string | undefined): LabelSelector {
  if (!text || text.trim() === '') return [];
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of text) {
    if (ch === '(') depth += 1;
    if (ch === ')') depth -= 1;
    if (ch === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  parts.push(current);
  return parts.map((raw) => parseRequirement(raw.trim(), text));
}

function parseRequirement(part: string, whole: string): LabelRequirement {
  const fail = (why: string): never => {
    throw new ApiStatusError(badRequest(`unable to parse requirement: ${why}: ${JSON.stringify(whole)}`));
  };
  let match = /^!\s*(\S+)$/.exec(part);
  if (match) return { op: 'notexists', key: checkKey(match[1], fail) };
  match = /^(\S+?)\s+(in|notin)\s+\(([^)]*)\)$/.exec(part);
  if (match) {
    const values = match[3].split(',').map((v) => v.trim());
    return { op: match[2] as 'in' | 'notin', key: checkKey(match[1], fail), values };
  }
  match = /^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(part);
  if (match) {
    return { op: match[2] === '!=' ? 'neq' : 'eq', key: checkKey(match[1], fail), value: match[3] };
  }
  if (/^\S+$/.test(part)) return { op: 'exists', key: checkKey(part, fail) };
  return fail(`found '${part}', expected: key, !key, key=value, key!=value, key in (...), key notin (...)`);
}

function checkKey(key: string, fail: (why: string) => never): string {
  if (!KEY.test(key) || key.length > 317) fail(`invalid label key ${JSON.stringify(key)}`);
  return key;
}

/** Whether `labels` (an object's `metadata.labels`) satisfy every requirement. */
export function matchesLabels(selector: LabelSelector, labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  return selector.every((req) => {
    const has = Object.prototype.hasOwnProperty.call(l, req.key);
    switch (req.op) {
      case 'exists':
        return has;
      case 'notexists':
        return !has;
      case 'eq':
        return has && l[req.key] === req.value;
      case 'neq':
        return !has || l[req.key] !== req.value;
      case 'in':
        return has && req.values.includes(l[req.key]);
      case 'notin':
        return !has || !req.values.includes(l[req.key]);
    }
  });
}

/** One `field=value` / `field!=value` term of a field selector. */
export interface FieldRequirement {
  field: string;
  value: string;
  negate: boolean;
}

/** The fields each kind's field selector supports (the registry's `GetAttrs`/field label conversion). */
const SUPPORTED_FIELDS: Record<string, string[]> = {
  Pod: ['metadata.name', 'metadata.namespace', 'spec.nodeName', 'spec.restartPolicy', 'spec.schedulerName', 'spec.serviceAccountName', 'status.phase', 'status.podIP', 'status.nominatedNodeName'],
  Namespace: ['metadata.name', 'status.phase'],
};

/**
 * Parses `metadata.name=x,status.phase!=Running`. Throws 400 `field label not supported: f` for a
 * field the kind does not index, as the real server does.
 */
export function parseFieldSelector(text: string | undefined, kind: string): FieldRequirement[] {
  if (!text || text.trim() === '') return [];
  const supported = SUPPORTED_FIELDS[kind] ?? ['metadata.name', 'metadata.namespace'];
  return text.split(',').map((term) => {
    const match = /^\s*([^=!\s]+)\s*(==|=|!=)\s*(.*?)\s*$/.exec(term);
    if (!match) throw new ApiStatusError(badRequest(`invalid selector: '${text}'; can't understand '${term}'`));
    if (!supported.includes(match[1])) throw new ApiStatusError(badRequest(`field label not supported: ${match[1]}`));
    return { field: match[1], value: match[3], negate: match[2] === '!=' };
  });
}

/** Whether an object satisfies every field requirement (a missing field reads as `''`). */
export function matchesFields(requirements: FieldRequirement[], object: Record<string, unknown>): boolean {
  return requirements.every((req) => {
    let value: unknown = object;
    for (const key of req.field.split('.')) value = value && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;
    const actual = value === undefined || value === null ? '' : String(value);
    return req.negate ? actual !== req.value : actual === req.value;
  });
}
