/**
 * One RBAC permission the driver needs: `verbs` on `resource` (a subresource as `pods/log`) in
 * API group `apiGroup` ('' = core), as in a ClusterRole rule
 * (https://kubernetes.io/docs/reference/access-authn-authz/rbac/#referring-to-resources).
 */
export interface RbacRule {
  apiGroup: string;
  resource: string;
  verbs: readonly string[];
}

/** A ClusterRole rule as it appears in a manifest or a Helm chart. */
export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

/**
 * Merges the rules each resource client declares (its static `rbac`, next to the calls that
 * need them) into one rule per API group and resource, verbs sorted, resources sorted.
 */
export function mergeRbacRules(...groups: ReadonlyArray<readonly RbacRule[]>): PolicyRule[] {
  const verbs = new Map<string, Set<string>>();
  for (const rule of groups.flat()) {
    const key = `${rule.apiGroup}\u0000${rule.resource}`;
    const set = verbs.get(key) ?? new Set<string>();
    for (const verb of rule.verbs) set.add(verb);
    verbs.set(key, set);
  }
  return [...verbs.entries()]
    .map(([key, set]) => {
      const [apiGroup, resource] = key.split('\u0000');
      return { apiGroups: [apiGroup], resources: [resource], verbs: [...set].sort() };
    })
    .sort((a, b) => (a.apiGroups[0] + '/' + a.resources[0]).localeCompare(b.apiGroups[0] + '/' + b.resources[0]));
}
