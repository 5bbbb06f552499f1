import { readFile } from 'node:fs/promises';
import { describe, expect, it } from '@jest/globals';
import { kubernetesRbacRules } from '@devpocket/kubernetes';
import { parseAllDocuments, parse as parseYaml } from 'yaml';

const CHART = 'charts/devpocket';

/** The chart's YAML with Helm directives taken out: lines that are only `{{ … }}` go, inline ones become a placeholder. */
async function renderStatic(file: string): Promise<unknown[]> {
  const text = await readFile(`${CHART}/${file}`, 'utf8');
  const stripped = text
    .split('\n')
    .filter((line) => !/^\s*\{\{-?[^}]*-?\}\}\s*$/.test(line))
    .map((line) => line.replace(/\{\{[^}]*\}\}/g, 'placeholder'))
    .join('\n');
  return parseAllDocuments(stripped).map((document) => document.toJSON());
}

/** One `apiGroup/resource` → sorted verbs map, whatever the grouping of the rules. */
function permissions(rules: Array<{ apiGroups: string[]; resources: string[]; verbs: string[] }>): Record<string, string[]> {
  const byResource: Record<string, Set<string>> = {};
  for (const rule of rules) {
    for (const group of rule.apiGroups) {
      for (const resource of rule.resources) {
        const key = `${group || 'core'}/${resource}`;
        byResource[key] ??= new Set();
        for (const verb of rule.verbs) byResource[key].add(verb);
      }
    }
  }
  const keys = Object.keys(byResource).sort();
  return Object.fromEntries(keys.map((key) => [key, [...byResource[key]].sort()]));
}

describe('Helm chart', () => {
  it("grants the ClusterRole exactly what the Kubernetes driver calls, and nothing more", async () => {
    const [role] = (await renderStatic('templates/clusterrole.yaml')) as Array<{ kind: string; rules: Array<{ apiGroups: string[]; resources: string[]; verbs: string[] }> }>;
    expect(role.kind).toBe('ClusterRole');
    expect(permissions(role.rules)).toEqual(permissions(kubernetesRbacRules()));
  });

  it('binds the ClusterRole to the server ServiceAccount and runs the server non-root', async () => {
    const [, binding] = (await renderStatic('templates/clusterrole.yaml')) as Array<{ kind: string; subjects: Array<{ kind: string }> }>;
    expect(binding.kind).toBe('ClusterRoleBinding');
    expect(binding.subjects[0].kind).toBe('ServiceAccount');
    const values = parseYaml(await readFile(`${CHART}/values.yaml`, 'utf8'));
    expect(values.podSecurityContext.runAsNonRoot).toBe(true);
    expect(values.securityContext.allowPrivilegeEscalation).toBe(false);
    expect(Object.keys(values.secretEnv).sort()).toEqual(['DATABASE_URL', 'ENCRYPTION_KEY', 'JWT_SECRET']);
  });

  it('probes the health endpoints the server serves', async () => {
    const text = await readFile(`${CHART}/templates/deployment.yaml`, 'utf8');
    expect(text).toContain('path: /api/v1/health/ready');
    expect(text).toContain('path: /api/v1/health\n');
  });
});
