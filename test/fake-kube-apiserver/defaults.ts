/**
 * Server-side defaulting of the served kinds: the scheme's `SetDefaults_*` functions (applied on
 * create and update) and, on create only, what admission plugins add in a stock cluster
 * (`DefaultStorageClass` → `storageClassName: standard`, `ServiceAccount` → `default`, the
 * namespace's `kubernetes.io/metadata.name` label). Clients that read back what they wrote see
 * the same extra fields as against a real server.
 */

/** The default StorageClass name of the fake cluster (kind's `standard`). */
export const DEFAULT_STORAGE_CLASS = 'standard';

function defaultPodSpec(spec: any, isPodObject: boolean, isCreate: boolean): void {
  spec.restartPolicy ??= 'Always';
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.terminationGracePeriodSeconds ??= 30;
  spec.schedulerName ??= 'default-scheduler';
  spec.securityContext ??= {};
  spec.enableServiceLinks ??= true;
  if (isPodObject && isCreate) {
    spec.serviceAccountName ??= 'default';
    spec.serviceAccount ??= spec.serviceAccountName;
  }
  for (const container of [...(spec.initContainers ?? []), ...(spec.containers ?? [])]) {
    container.terminationMessagePath ??= '/dev/termination-log';
    container.terminationMessagePolicy ??= 'File';
    const image = String(container.image ?? '');
    const tagged = /:[^/]+$/.test(image) || image.includes('@');
    container.imagePullPolicy ??= !tagged || image.endsWith(':latest') ? 'Always' : 'IfNotPresent';
    container.resources ??= {};
    for (const port of container.ports ?? []) port.protocol ??= 'TCP';
  }
  for (const volume of spec.volumes ?? []) {
    if (volume.configMap) volume.configMap.defaultMode ??= 420;
    if (volume.secret) volume.secret.defaultMode ??= 420;
  }
}

/** Applies the defaults of `kind` to `object` in place; `isCreate` adds the admission-time ones. */
export function applyDefaults(kind: string, object: any, isCreate: boolean): void {
  object.metadata ??= {};
  switch (kind) {
    case 'Namespace':
      object.metadata.labels = { ...(object.metadata.labels ?? {}), 'kubernetes.io/metadata.name': object.metadata.name };
      object.spec ??= {};
      object.spec.finalizers ??= ['kubernetes'];
      break;
    case 'Pod':
      object.spec ??= {};
      defaultPodSpec(object.spec, true, isCreate);
      break;
    case 'StatefulSet': {
      const spec = (object.spec ??= {});
      spec.replicas ??= 1;
      spec.podManagementPolicy ??= 'OrderedReady';
      spec.updateStrategy ??= { type: 'RollingUpdate' };
      if (spec.updateStrategy.type === 'RollingUpdate') spec.updateStrategy.rollingUpdate ??= { partition: 0 };
      spec.revisionHistoryLimit ??= 10;
      spec.persistentVolumeClaimRetentionPolicy ??= { whenDeleted: 'Retain', whenScaled: 'Retain' };
      spec.template ??= {};
      spec.template.metadata ??= {};
      spec.template.spec ??= {};
      defaultPodSpec(spec.template.spec, false, isCreate);
      for (const claim of spec.volumeClaimTemplates ?? []) {
        claim.apiVersion ??= 'v1';
        claim.kind ??= 'PersistentVolumeClaim';
        claim.spec ??= {};
        claim.spec.volumeMode ??= 'Filesystem';
        claim.status ??= { phase: 'Pending' };
      }
      break;
    }
    case 'Service': {
      const spec = (object.spec ??= {});
      spec.type ??= 'ClusterIP';
      spec.sessionAffinity ??= 'None';
      spec.internalTrafficPolicy ??= 'Cluster';
      spec.ipFamilies ??= ['IPv4'];
      spec.ipFamilyPolicy ??= 'SingleStack';
      for (const port of spec.ports ?? []) {
        port.protocol ??= 'TCP';
        port.targetPort ??= port.port;
      }
      break;
    }
    case 'PersistentVolumeClaim': {
      const spec = (object.spec ??= {});
      spec.volumeMode ??= 'Filesystem';
      if (isCreate && spec.storageClassName === undefined) spec.storageClassName = DEFAULT_STORAGE_CLASS;
      break;
    }
    default:
      break;
  }
}
