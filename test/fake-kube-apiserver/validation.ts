/**
 * Create/update validation of the served kinds, with the real server's field paths and messages
 * (k8s.io/apimachinery `pkg/util/validation`, `pkg/apis/core/validation`,
 * `pkg/apis/apps/validation`). A subset of the real rules: object names, labels and annotation
 * keys, the pod spec's containers/volumes/mounts, StatefulSet selector/template/replicas,
 * Service ports and clusterIP, PVC access modes and size, ConfigMap keys and size, and the
 * fields each kind forbids changing on update. Every function returns `FieldError[]`; the caller
 * turns a non-empty list into a 422 Invalid (or a 403 where the real server forbids).
 */
import type { FieldError } from './status.js';
import type { NameRule, ResourceType } from './resources.js';

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const QUALIFIED_NAME_PART = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const CONFIG_KEY = /^[-._a-zA-Z0-9]+$/;

const DNS1123_LABEL_MSG = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const DNS1123_SUBDOMAIN_MSG = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const DNS1035_LABEL_MSG = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
const QUALIFIED_NAME_MSG = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const LABEL_VALUE_MSG = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
const CONFIG_KEY_MSG = "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')";

/** Go's `%q` of a string, which is what field errors print for string values. */
function quote(value: unknown): string {
  return JSON.stringify(String(value));
}

function invalidValue(field: string, value: unknown, message: string): FieldError {
  const shown = typeof value === 'number' ? String(value) : quote(value);
  return { type: 'FieldValueInvalid', field, detail: `Invalid value: ${shown}: ${message}` };
}

function required(field: string, message?: string): FieldError {
  return { type: 'FieldValueRequired', field, detail: message ? `Required value: ${message}` : 'Required value' };
}

/** `IsDNS1123Label` / `IsDNS1123Subdomain` / `IsDNS1035Label`: the messages, length first. */
export function nameMessages(name: string, rule: NameRule): string[] {
  const messages: string[] = [];
  const [max, pattern, message] =
    rule === 'dns1123-label' ? [63, DNS1123_LABEL, DNS1123_LABEL_MSG] : rule === 'dns1035-label' ? [63, DNS1035_LABEL, DNS1035_LABEL_MSG] : [253, DNS1123_SUBDOMAIN, DNS1123_SUBDOMAIN_MSG];
  if (name.length > max) messages.push(`must be no more than ${max} characters`);
  if (!pattern.test(name)) messages.push(message);
  return messages;
}

function validateQualifiedName(key: string, field: string): FieldError[] {
  const errors: FieldError[] = [];
  const slash = key.lastIndexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined) {
    for (const message of nameMessages(prefix, 'dns1123-subdomain')) errors.push(invalidValue(field, key, `prefix part ${message}`));
  }
  if (name.length === 0) errors.push(invalidValue(field, key, 'name part must be non-empty'));
  else {
    if (name.length > 63) errors.push(invalidValue(field, key, 'name part must be no more than 63 characters'));
    if (!QUALIFIED_NAME_PART.test(name)) errors.push(invalidValue(field, key, QUALIFIED_NAME_MSG));
  }
  return errors;
}

function validateLabels(labels: unknown, field: string): FieldError[] {
  if (labels === undefined || labels === null) return [];
  const errors: FieldError[] = [];
  for (const [key, value] of Object.entries(labels as Record<string, unknown>)) {
    errors.push(...validateQualifiedName(key, field));
    const text = String(value);
    if (text.length > 63) errors.push(invalidValue(field, text, 'must be no more than 63 characters'));
    if (!LABEL_VALUE.test(text)) errors.push(invalidValue(field, text, LABEL_VALUE_MSG));
  }
  return errors;
}

/** `ValidateObjectMeta`: name (or generateName) by the kind's rule, labels, annotation keys. */
export function validateObjectMeta(type: ResourceType, metadata: any, field = 'metadata'): FieldError[] {
  const errors: FieldError[] = [];
  const name = metadata?.name;
  if (!name) errors.push(required(`${field}.name`, 'name or generateName is required'));
  else for (const message of nameMessages(String(name), type.nameRule)) errors.push(invalidValue(`${field}.name`, name, message));
  errors.push(...validateLabels(metadata?.labels, `${field}.labels`));
  for (const key of Object.keys(metadata?.annotations ?? {})) errors.push(...validateQualifiedName(key, `${field}.annotations`));
  return errors;
}

/**
 * Container and volume rules of `ValidatePodSpec` (a subset), with paths under `field`.
 * `extraVolumes` are names mounts may use besides `spec.volumes` (a StatefulSet's
 * `volumeClaimTemplates`, which its controller turns into pod volumes).
 */
export function validatePodSpec(spec: any, field: string, extraVolumes: string[] = []): FieldError[] {
  const errors: FieldError[] = [];
  const volumeNames = new Set<string>(extraVolumes);
  (spec?.volumes ?? []).forEach((volume: any, i: number) => {
    const path = `${field}.volumes[${i}].name`;
    if (!volume?.name) errors.push(required(path));
    else {
      for (const message of nameMessages(volume.name, 'dns1123-label')) errors.push(invalidValue(path, volume.name, message));
      if (volumeNames.has(volume.name)) errors.push({ type: 'FieldValueDuplicate', field: path, detail: `Duplicate value: ${quote(volume.name)}` });
      volumeNames.add(volume.name);
    }
  });
  const containers = spec?.containers;
  if (!Array.isArray(containers) || containers.length === 0) errors.push(required(`${field}.containers`));
  const names = new Set<string>();
  for (const [list, items] of [['initContainers', spec?.initContainers ?? []], ['containers', containers ?? []]] as const) {
    (items as any[]).forEach((container, i) => {
      const path = `${field}.${list}[${i}]`;
      if (!container?.name) errors.push(required(`${path}.name`));
      else {
        for (const message of nameMessages(container.name, 'dns1123-label')) errors.push(invalidValue(`${path}.name`, container.name, message));
        if (names.has(container.name)) errors.push({ type: 'FieldValueDuplicate', field: `${path}.name`, detail: `Duplicate value: ${quote(container.name)}` });
        names.add(container.name);
      }
      if (!container?.image) errors.push(required(`${path}.image`));
      (container?.volumeMounts ?? []).forEach((mount: any, j: number) => {
        if (!volumeNames.has(mount?.name)) errors.push({ type: 'FieldValueNotFound', field: `${path}.volumeMounts[${j}].name`, detail: `Not found: ${quote(mount?.name)}` });
        if (!mount?.mountPath) errors.push(required(`${path}.volumeMounts[${j}].mountPath`));
      });
    });
  }
  return errors;
}

function selectorMatches(selector: any, labels: Record<string, string>): boolean {
  for (const [key, value] of Object.entries(selector?.matchLabels ?? {})) if (labels[key] !== value) return false;
  for (const expression of selector?.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(labels, expression.key);
    const values: string[] = expression.values ?? [];
    if (expression.operator === 'In' && !(has && values.includes(labels[expression.key]))) return false;
    if (expression.operator === 'NotIn' && has && values.includes(labels[expression.key])) return false;
    if (expression.operator === 'Exists' && !has) return false;
    if (expression.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

/** Go's `%#v` of a `map[string]string`, as printed in the selector/labels mismatch error. */
function goMap(labels: Record<string, string>): string {
  return `map[string]string{${Object.keys(labels)
    .sort()
    .map((key) => `${JSON.stringify(key)}:${JSON.stringify(labels[key])}`)
    .join(', ')}}`;
}

/** Per-kind spec rules on create (and on update, before {@link validateUpdate}). */
export function validateSpec(type: ResourceType, object: any): FieldError[] {
  switch (type.kind) {
    case 'Pod':
      return validatePodSpec(object.spec, 'spec');
    case 'StatefulSet':
      return validateStatefulSetSpec(object.spec ?? {});
    case 'Service':
      return validateServiceSpec(object.spec ?? {});
    case 'PersistentVolumeClaim':
      return validatePvcSpec(object.spec ?? {});
    case 'ConfigMap':
      return validateConfigMap(object);
    default:
      return [];
  }
}

function validateStatefulSetSpec(spec: any): FieldError[] {
  const errors: FieldError[] = [];
  if (typeof spec.replicas === 'number' && spec.replicas < 0) errors.push(invalidValue('spec.replicas', spec.replicas, 'must be greater than or equal to 0'));
  const templateLabels: Record<string, string> = spec.template?.metadata?.labels ?? {};
  if (!spec.selector) errors.push(required('spec.selector'));
  else if (Object.keys(spec.selector.matchLabels ?? {}).length === 0 && (spec.selector.matchExpressions ?? []).length === 0) {
    errors.push({ type: 'FieldValueInvalid', field: 'spec.selector', detail: 'Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for statefulset' });
  } else if (!selectorMatches(spec.selector, templateLabels)) {
    errors.push({ type: 'FieldValueInvalid', field: 'spec.template.metadata.labels', detail: `Invalid value: ${goMap(templateLabels)}: \`selector\` does not match template \`labels\`` });
  }
  errors.push(...validateLabels(spec.template?.metadata?.labels, 'spec.template.metadata.labels'));
  const restartPolicy = spec.template?.spec?.restartPolicy;
  if (restartPolicy !== undefined && restartPolicy !== 'Always') {
    errors.push({ type: 'FieldValueNotSupported', field: 'spec.template.spec.restartPolicy', detail: `Unsupported value: ${quote(restartPolicy)}: supported values: "Always"` });
  }
  const claimNames: string[] = (spec.volumeClaimTemplates ?? []).map((claim: any) => claim?.metadata?.name).filter(Boolean);
  errors.push(...validatePodSpec(spec.template?.spec, 'spec.template.spec', claimNames));
  (spec.volumeClaimTemplates ?? []).forEach((template: any, i: number) => {
    errors.push(...validatePvcSpec(template?.spec ?? {}, `spec.volumeClaimTemplates[${i}].spec`));
  });
  return errors;
}

function validateServiceSpec(spec: any): FieldError[] {
  const errors: FieldError[] = [];
  const ports: any[] = spec.ports ?? [];
  const headless = spec.clusterIP === 'None';
  if (ports.length === 0 && !headless && spec.type !== 'ExternalName') errors.push(required('spec.ports'));
  ports.forEach((port, i) => {
    if (!(Number.isInteger(port?.port) && port.port >= 1 && port.port <= 65535)) errors.push(invalidValue(`spec.ports[${i}].port`, port?.port ?? 0, 'must be between 1 and 65535, inclusive'));
    if (ports.length > 1 && !port?.name) errors.push(required(`spec.ports[${i}].name`));
  });
  return errors;
}

function validatePvcSpec(spec: any, field = 'spec'): FieldError[] {
  const errors: FieldError[] = [];
  if (!Array.isArray(spec.accessModes) || spec.accessModes.length === 0) errors.push(required(`${field}.accessModes`, 'at least 1 access mode is required'));
  if (!spec.resources?.requests?.storage) errors.push(required(`${field}.resources[storage]`));
  return errors;
}

function validateConfigMap(object: any): FieldError[] {
  const errors: FieldError[] = [];
  let size = 0;
  for (const section of ['data', 'binaryData'] as const) {
    for (const [key, value] of Object.entries(object[section] ?? {})) {
      if (!CONFIG_KEY.test(key) || key.length > 253) errors.push(invalidValue(`${section}[${key}]`, key, CONFIG_KEY_MSG));
      size += key.length + String(value).length;
    }
  }
  if (size > 1024 * 1024) errors.push({ type: 'FieldValueTooLong', field: '[]', detail: 'Too long: must have at most 1048576 bytes' });
  return errors;
}

const STS_MUTABLE = ['replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy', 'minReadySeconds'];

function without(spec: any, drop: (copy: any) => void): string {
  const copy = JSON.parse(JSON.stringify(spec ?? {}));
  drop(copy);
  return JSON.stringify(sortKeys(copy));
}

function sortKeys(value: any): any {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') return Object.fromEntries(Object.keys(value).sort().map((key) => [key, sortKeys(value[key])]));
  return value;
}

/**
 * `ValidateXUpdate`: the fields a kind forbids changing. `next` has had defaults applied and the
 * server-owned fields carried over. Returns field errors (422 Invalid with a `Forbidden` cause).
 */
export function validateUpdate(type: ResourceType, previous: any, next: any): FieldError[] {
  switch (type.kind) {
    case 'StatefulSet': {
      const strip = (copy: any) => STS_MUTABLE.forEach((key) => delete copy[key]);
      if (without(previous.spec, strip) !== without(next.spec, strip)) {
        return [{ type: 'FieldValueForbidden', field: 'spec', detail: "Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden" }];
      }
      return [];
    }
    case 'PersistentVolumeClaim': {
      const strip = (copy: any) => {
        if (copy.resources) delete copy.resources.requests;
        delete copy.volumeAttributesClassName;
      };
      if (without(previous.spec, strip) !== without(next.spec, strip)) {
        return [{ type: 'FieldValueForbidden', field: 'spec', detail: 'Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims' }];
      }
      return [];
    }
    case 'Pod': {
      const strip = (copy: any) => {
        for (const list of [copy.containers ?? [], copy.initContainers ?? []]) for (const container of list) delete container.image;
        delete copy.activeDeadlineSeconds;
        delete copy.tolerations;
        delete copy.terminationGracePeriodSeconds;
      };
      if (without(previous.spec, strip) !== without(next.spec, strip)) {
        return [{ type: 'FieldValueForbidden', field: 'spec', detail: 'Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)' }];
      }
      return [];
    }
    case 'Service':
      if (previous.spec?.clusterIP && next.spec?.clusterIP !== previous.spec.clusterIP) {
        return [invalidValue('spec.clusterIP', next.spec?.clusterIP ?? '', 'field is immutable')];
      }
      return [];
    case 'ConfigMap':
      if (previous.immutable === true && (JSON.stringify(previous.data) !== JSON.stringify(next.data) || JSON.stringify(previous.binaryData) !== JSON.stringify(next.binaryData))) {
        return [{ type: 'FieldValueForbidden', field: 'data', detail: 'Forbidden: field is immutable when `immutable` is set' }];
      }
      return [];
    default:
      return [];
  }
}
