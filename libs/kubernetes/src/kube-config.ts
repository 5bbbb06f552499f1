import { KubeConfig } from '@kubernetes/client-node';
import { parse } from 'yaml';

/** A kubeconfig that cannot be used, with a message naming the problem (fit for an admin's form). */
export class KubeConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KubeConfigError';
  }
}

/**
 * Parses and checks a kubeconfig (https://kubernetes.io/docs/concepts/configuration/organize-cluster-access-kubeconfig/)
 * as an admin uploads it, and returns a KubeConfig holding only the chosen context, its cluster
 * and its user, with that context current.
 *
 * The context is `context` when given, else `current-context`, else the only context there is.
 * Refused, since the server would act on its own host rather than on the cluster:
 * - `users[].user.exec` (an exec credential plugin runs a command on the server) and
 *   `auth-provider` plugins other than `oidc` (gcp and azure run commands or read local files);
 * - paths to files (`certificate-authority`, `client-certificate`, `client-key`, `token-file`):
 *   the server would read its own files; the `-data` fields carry the same inline.
 * Parsing is done here with `yaml` before client-node sees anything, because client-node's own
 * loader reads `token-file` while parsing.
 *
 * @param yamlText the kubeconfig as YAML (or JSON) text.
 * @param context the name of the context to use.
 * @throws KubeConfigError naming the problem: not YAML, not a mapping, no clusters, no contexts,
 *   unknown context, a context naming a missing cluster or user, no server URL, a server URL that
 *   is not http(s), an exec or auth-provider plugin, a file reference.
 */
export function loadKubeConfig(yamlText: string, context?: string): KubeConfig {
  let document: unknown;
  try {
    document = parse(yamlText);
  } catch (error) {
    throw new KubeConfigError(`The kubeconfig is not YAML: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
  }
  if (!isRecord(document)) throw new KubeConfigError('The kubeconfig is not a YAML mapping (expected apiVersion, clusters, contexts, users)');

  const clusters = namedEntries(document.clusters, 'cluster');
  if (clusters.length === 0) throw new KubeConfigError('The kubeconfig has no clusters');
  const contexts = namedEntries(document.contexts, 'context');
  if (contexts.length === 0) throw new KubeConfigError('The kubeconfig has no contexts');
  const users = namedEntries(document.users, 'user');

  const contextName = chooseContext(contexts, context, document['current-context']);
  const chosen = contexts.find((entry) => entry.name === contextName);
  if (!chosen) {
    throw new KubeConfigError(`The kubeconfig has no context named "${contextName}" (it has: ${contexts.map((entry) => entry.name).join(', ')})`);
  }
  const clusterName = stringField(chosen.body, 'cluster');
  if (!clusterName) throw new KubeConfigError(`Context "${contextName}" names no cluster`);
  const cluster = clusters.find((entry) => entry.name === clusterName);
  if (!cluster) throw new KubeConfigError(`Context "${contextName}" refers to cluster "${clusterName}", which is not in the kubeconfig`);
  checkCluster(cluster.name, cluster.body);

  const userName = stringField(chosen.body, 'user');
  let user: NamedEntry | undefined;
  if (userName) {
    user = users.find((entry) => entry.name === userName);
    if (!user) throw new KubeConfigError(`Context "${contextName}" refers to user "${userName}", which is not in the kubeconfig`);
    checkUser(user.name, user.body);
  }

  const minimal = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: cluster.name, cluster: cluster.body }],
    users: user ? [{ name: user.name, user: user.body }] : [],
    contexts: [{ name: contextName, context: chosen.body }],
    'current-context': contextName,
  };
  const kubeConfig = new KubeConfig();
  try {
    // JSON is YAML: client-node reads exactly the document checked above.
    kubeConfig.loadFromString(JSON.stringify(minimal));
  } catch (error) {
    throw new KubeConfigError(`The kubeconfig could not be loaded: ${error instanceof Error ? error.message : String(error)}`);
  }
  return kubeConfig;
}

interface NamedEntry {
  name: string;
  body: Record<string, unknown>;
}

/** `clusters`, `contexts` or `users`: a list of `{name, <field>: {...}}`. */
function namedEntries(list: unknown, field: 'cluster' | 'context' | 'user'): NamedEntry[] {
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) throw new KubeConfigError(`The kubeconfig's ${field}s is not a list`);
  return list.map((item, index) => {
    if (!isRecord(item) || typeof item.name !== 'string' || !item.name) {
      throw new KubeConfigError(`The kubeconfig's ${field}s[${index}] has no name`);
    }
    const body = item[field] ?? {};
    if (!isRecord(body)) throw new KubeConfigError(`${capitalize(field)} "${item.name}" has no ${field} mapping`);
    return { name: item.name, body };
  });
}

function chooseContext(contexts: NamedEntry[], requested: string | undefined, current: unknown): string {
  if (requested) return requested;
  if (typeof current === 'string' && current) return current;
  if (contexts.length === 1) return contexts[0].name;
  throw new KubeConfigError(`The kubeconfig has no current-context; choose one of: ${contexts.map((entry) => entry.name).join(', ')}`);
}

function checkCluster(name: string, body: Record<string, unknown>): void {
  const server = stringField(body, 'server');
  if (!server) throw new KubeConfigError(`Cluster "${name}" has no server URL`);
  let url: URL;
  try {
    url = new URL(server);
  } catch (error) {
    throw new KubeConfigError(`Cluster "${name}" has a server URL that cannot be parsed (${server}): ${error instanceof Error ? error.message : String(error)}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new KubeConfigError(`Cluster "${name}" has a server URL that is not http(s): ${server}`);
  }
  if (body['certificate-authority'] !== undefined) {
    throw new KubeConfigError(`Cluster "${name}" refers to a certificate-authority file, which would be read on the server; inline it as certificate-authority-data`);
  }
}

function checkUser(name: string, body: Record<string, unknown>): void {
  if (body.exec !== undefined && body.exec !== null) {
    throw new KubeConfigError(
      `User "${name}" uses an exec credential plugin, which would run a command on the server; use a service account token or a client certificate`,
    );
  }
  const provider = body['auth-provider'];
  if (provider !== undefined && provider !== null) {
    const providerName = isRecord(provider) && typeof provider.name === 'string' ? provider.name : 'unnamed';
    if (providerName !== 'oidc') {
      throw new KubeConfigError(
        `User "${name}" uses the ${providerName} auth-provider plugin, which would run commands or read files on the server; use a service account token or a client certificate`,
      );
    }
  }
  for (const field of ['client-certificate', 'client-key', 'token-file', 'tokenFile']) {
    if (body[field] !== undefined) {
      throw new KubeConfigError(`User "${name}" refers to a ${field} file, which would be read on the server; inline it (client-certificate-data, client-key-data, token)`);
    }
  }
}

function stringField(body: Record<string, unknown>, field: string): string | undefined {
  const value = body[field];
  return typeof value === 'string' && value.trim() ? value.trim() : undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
