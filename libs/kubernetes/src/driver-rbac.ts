import { ClusterWatch } from './cluster-watch.js';
import { ConfigMapClient } from './config-map-client.js';
import { NamespaceClient } from './namespace-client.js';
import { PersistentVolumeClaimClient } from './persistent-volume-claim-client.js';
import { PodClient } from './pod-client.js';
import { PodExec } from './pod-exec.js';
import { mergeRbacRules, type PolicyRule, type RbacRule } from './rbac.js';
import { ServiceClient } from './service-client.js';
import { StatefulSetClient } from './stateful-set-client.js';

/**
 * Every permission the kubernetes driver uses, merged from the `rbac` each class declares next
 * to its calls. A ClusterRole (the Helm chart's) must grant exactly these, cluster-wide: the
 * driver creates namespaces and watches pods and StatefulSets across all of them.
 */
export const KUBERNETES_RBAC_RULES: readonly RbacRule[] = [
  ...NamespaceClient.rbac,
  ...PersistentVolumeClaimClient.rbac,
  ...ConfigMapClient.rbac,
  ...ServiceClient.rbac,
  ...StatefulSetClient.rbac,
  ...PodClient.rbac,
  ...PodExec.rbac,
  ...ClusterWatch.rbac,
];

/** {@link KUBERNETES_RBAC_RULES} as ClusterRole rules: one per API group and resource, verbs sorted. */
export function kubernetesRbacRules(): PolicyRule[] {
  return mergeRbacRules(KUBERNETES_RBAC_RULES);
}
