import { describe, expect, it } from '@jest/globals';
import { stringify } from 'yaml';
import { KubeConfigError, loadKubeConfig } from './kube-config.js';

interface Options {
  clusters?: unknown[];
  contexts?: unknown[];
  users?: unknown[];
  current?: string;
}

function kubeconfig({ clusters, contexts, users, current }: Options = {}): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: clusters ?? [{ name: 'prod', cluster: { server: 'https://10.0.0.1:6443', 'certificate-authority-data': 'Y2E=' } }],
    contexts: contexts ?? [
      { name: 'admin@prod', context: { cluster: 'prod', user: 'admin' } },
      { name: 'devpocket@prod', context: { cluster: 'prod', user: 'devpocket', namespace: 'devpocket' } },
    ],
    users: users ?? [
      { name: 'admin', user: { token: 'admin-token' } },
      { name: 'devpocket', user: { token: 'sa-token' } },
    ],
    'current-context': current ?? 'admin@prod',
  });
}

function refused(text: string, context?: string): string {
  try {
    loadKubeConfig(text, context);
  } catch (error) {
    if (error instanceof KubeConfigError) return error.message;
    throw error;
  }
  throw new Error('the kubeconfig was accepted');
}

describe(loadKubeConfig.name, () => {
  it('uses the current context, keeping only it, its cluster and its user', () => {
    const config = loadKubeConfig(kubeconfig());
    expect(config.getCurrentContext()).toBe('admin@prod');
    expect(config.getContexts().map((context) => context.name)).toEqual(['admin@prod']);
    expect(config.getCurrentCluster()).toMatchObject({ name: 'prod', server: 'https://10.0.0.1:6443', caData: 'Y2E=' });
    expect(config.getCurrentUser()).toMatchObject({ name: 'admin', token: 'admin-token' });
  });

  it('uses the context asked for', () => {
    const config = loadKubeConfig(kubeconfig(), 'devpocket@prod');
    expect(config.getCurrentContext()).toBe('devpocket@prod');
    expect(config.getCurrentUser()).toMatchObject({ name: 'devpocket', token: 'sa-token' });
    expect(config.getContextObject('devpocket@prod')?.namespace).toBe('devpocket');
  });

  it('takes the only context when there is no current-context', () => {
    const text = stringify({
      clusters: [{ name: 'c', cluster: { server: 'http://127.0.0.1:8080', 'insecure-skip-tls-verify': true } }],
      contexts: [{ name: 'only', context: { cluster: 'c' } }],
    });
    const config = loadKubeConfig(text);
    expect(config.getCurrentContext()).toBe('only');
    expect(config.getCurrentCluster()?.skipTLSVerify).toBe(true);
    expect(config.getCurrentUser()).toBeNull();
  });

  it('refuses text that is not a YAML mapping', () => {
    expect(refused('clusters: [unclosed')).toMatch(/^The kubeconfig is not YAML: /);
    expect(refused('- just\n- a list\n')).toBe('The kubeconfig is not a YAML mapping (expected apiVersion, clusters, contexts, users)');
  });

  it('refuses a kubeconfig without clusters or contexts', () => {
    expect(refused(kubeconfig({ clusters: [] }))).toBe('The kubeconfig has no clusters');
    expect(refused(kubeconfig({ contexts: [] }))).toBe('The kubeconfig has no contexts');
  });

  it('names the unknown context and the ones there are', () => {
    expect(refused(kubeconfig(), 'staging')).toBe('The kubeconfig has no context named "staging" (it has: admin@prod, devpocket@prod)');
    expect(refused(kubeconfig({ current: 'gone' }))).toBe('The kubeconfig has no context named "gone" (it has: admin@prod, devpocket@prod)');
  });

  it('refuses a context whose cluster or user is missing', () => {
    expect(refused(kubeconfig({ contexts: [{ name: 'x', context: { cluster: 'nope', user: 'admin' } }], current: 'x' }))).toBe(
      'Context "x" refers to cluster "nope", which is not in the kubeconfig',
    );
    expect(refused(kubeconfig({ contexts: [{ name: 'x', context: { cluster: 'prod', user: 'nobody' } }], current: 'x' }))).toBe(
      'Context "x" refers to user "nobody", which is not in the kubeconfig',
    );
  });

  it('refuses a cluster without an http(s) server URL', () => {
    expect(refused(kubeconfig({ clusters: [{ name: 'prod', cluster: {} }] }))).toBe('Cluster "prod" has no server URL');
    expect(refused(kubeconfig({ clusters: [{ name: 'prod', cluster: { server: 'unix:///var/run/k8s.sock' } }] }))).toBe(
      'Cluster "prod" has a server URL that is not http(s): unix:///var/run/k8s.sock',
    );
  });

  it('refuses exec credential plugins, which would run a command on the server', () => {
    const users = [{ name: 'admin', user: { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: 'aws', args: ['eks', 'get-token'] } } }];
    expect(refused(kubeconfig({ users }))).toBe('User "admin" uses an exec credential plugin, which would run a command on the server; use a service account token or a client certificate');
    const gcp = [{ name: 'admin', user: { 'auth-provider': { name: 'gcp', config: { 'cmd-path': '/usr/bin/gcloud' } } } }];
    expect(refused(kubeconfig({ users: gcp }))).toMatch(/^User "admin" uses the gcp auth-provider plugin/);
  });

  it('refuses references to files on the server', () => {
    expect(refused(kubeconfig({ clusters: [{ name: 'prod', cluster: { server: 'https://k', 'certificate-authority': '/etc/ca.crt' } }] }))).toMatch(
      /^Cluster "prod" refers to a certificate-authority file/,
    );
    expect(refused(kubeconfig({ users: [{ name: 'admin', user: { 'token-file': '/var/run/secrets/token' } }] }))).toMatch(/^User "admin" refers to a token-file file/);
  });

  it('only checks the chosen context: a bad user elsewhere does not matter', () => {
    const users = [
      { name: 'admin', user: { exec: { command: 'aws' } } },
      { name: 'devpocket', user: { token: 'sa-token' } },
    ];
    expect(loadKubeConfig(kubeconfig({ users }), 'devpocket@prod').getCurrentUser()?.token).toBe('sa-token');
  });
});
