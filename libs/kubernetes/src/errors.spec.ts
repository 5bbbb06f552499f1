import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ApiException, KubeConfig } from '@kubernetes/client-node';
import { KubeApiError, KubeConnectionError, isAlreadyExists, isNotFound, translateKubeError } from './errors.js';
import { NamespaceClient } from './namespace-client.js';

/** A Status as kube-apiserver writes it (api-conventions "Response Status Kind"). */
function status(code: number, reason: string, message: string, details?: object): string {
  return JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code, ...(details ? { details } : {}) });
}

/** What client-node 2.0.1's generated APIs throw for a non-2xx answer: the body as text. */
function apiException(code: number, body: string | object | undefined): ApiException<unknown> {
  return new ApiException(code, 'Unknown API Status Code!', body, { 'content-type': 'application/json' });
}

describe(translateKubeError.name, () => {
  it('keeps the status and reason of a 404 NotFound', () => {
    const error = translateKubeError(apiException(404, status(404, 'NotFound', 'pods "dp-1-0" not found', { name: 'dp-1-0', kind: 'pods' })), 'read Pod ns/dp-1-0');
    expect(error).toBeInstanceOf(KubeApiError);
    expect(error).toMatchObject({ status: 404, reason: 'NotFound', statusMessage: 'pods "dp-1-0" not found' });
    expect(error.message).toBe('Could not read Pod ns/dp-1-0: pods "dp-1-0" not found (NotFound, HTTP 404)');
    expect(isNotFound(error)).toBe(true);
  });

  it('tells a 409 AlreadyExists from a 409 Conflict', () => {
    const exists = translateKubeError(apiException(409, status(409, 'AlreadyExists', 'configmaps "dp-1" already exists')), 'create ConfigMap ns/dp-1');
    const conflict = translateKubeError(
      apiException(409, status(409, 'Conflict', 'Operation cannot be fulfilled on statefulsets.apps "dp-1": the object has been modified')),
      'update StatefulSet ns/dp-1',
    );
    expect(isAlreadyExists(exists)).toBe(true);
    expect(isAlreadyExists(conflict)).toBe(false);
    expect(conflict).toMatchObject({ status: 409, reason: 'Conflict' });
  });

  it('keeps the causes of a 422 Invalid', () => {
    const body = status(422, 'Invalid', 'StatefulSet.apps "dp-1" is invalid: spec.template.spec.containers[0].image: Required value', {
      name: 'dp-1',
      group: 'apps',
      kind: 'StatefulSet',
      causes: [{ reason: 'FieldValueRequired', message: 'Required value', field: 'spec.template.spec.containers[0].image' }],
    });
    const error = translateKubeError(apiException(422, body), 'create StatefulSet ns/dp-1');
    expect(error).toMatchObject({ status: 422, reason: 'Invalid' });
    expect((error as KubeApiError).causes).toEqual([{ reason: 'FieldValueRequired', message: 'Required value', field: 'spec.template.spec.containers[0].image' }]);
    expect(error.message).toContain('spec.template.spec.containers[0].image: Required value');
  });

  it('keeps the message of a 403 Forbidden from RBAC', () => {
    const message = 'statefulsets.apps is forbidden: User "system:serviceaccount:devpocket:server" cannot create resource "statefulsets" in API group "apps" in the namespace "devpocket-1a2b3c4d"';
    const error = translateKubeError(apiException(403, status(403, 'Forbidden', message, { group: 'apps', kind: 'statefulsets' })), 'create StatefulSet x');
    expect(error).toMatchObject({ status: 403, reason: 'Forbidden', statusMessage: message });
    expect(error.message).toMatch(/forbidden.*\(Forbidden, HTTP 403\)$/);
  });

  it('infers the reason when the answer has no Status (401 from client-node, an object body from Log)', () => {
    expect(translateKubeError(new ApiException(401, 'Unauthorized', undefined, {}), 'list Pods')).toMatchObject({ status: 401, reason: 'Unauthorized' });
    const fromLog = new ApiException(500, 'container not found', { kind: 'Status', code: 500, message: 'container not found', reason: 'InternalError' }, {});
    expect(translateKubeError(fromLog, 'read a log')).toMatchObject({ status: 500, reason: 'InternalError', statusMessage: 'container not found' });
    expect(translateKubeError(apiException(502, '<html>Bad Gateway</html>\n<body/>'), 'read Pod')).toMatchObject({
      status: 502,
      reason: 'Unknown',
      statusMessage: '<html>Bad Gateway</html>',
    });
  });

  it('reads the status of a failed watch and of a refused WebSocket upgrade', () => {
    const watchError = Object.assign(new Error('Gone'), { statusCode: 410 });
    expect(translateKubeError(watchError, 'watch Pods')).toMatchObject({ status: 410, reason: 'Expired' });
    const upgrade = { type: 'error', message: 'Unexpected server response: 403', error: new Error('Unexpected server response: 403') };
    expect(translateKubeError(upgrade, 'exec')).toMatchObject({ status: 403, reason: 'Forbidden' });
  });

  it('calls a failed fetch a connection error', () => {
    const cause = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6443'), { code: 'ECONNREFUSED' });
    const error = translateKubeError(new TypeError('fetch failed', { cause }), 'read Namespace devpocket-1');
    expect(error).toBeInstanceOf(KubeConnectionError);
    expect(error).toMatchObject({ code: 'ECONNREFUSED' });
    expect(error.message).toBe('Could not read Namespace devpocket-1: the Kubernetes API server did not answer (ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:6443)');
  });

  it('wraps anything else with the action and keeps it as the cause', () => {
    const original = new Error('something odd');
    const error = translateKubeError(original, 'do a thing');
    expect(error.message).toBe('Could not do a thing: something odd');
    expect(error.cause).toBe(original);
    expect(translateKubeError(error, 'again')).not.toBe(original);
    const already = translateKubeError(apiException(404, status(404, 'NotFound', 'gone')), 'read');
    expect(translateKubeError(already, 'other')).toBe(already);
  });
});

/** The same translation on what client-node really throws, against a tiny HTTP server. */
describe('errors thrown by client-node', () => {
  let server: Server;
  let url: string;

  function kubeConfig(server: string): KubeConfig {
    const config = new KubeConfig();
    config.loadFromOptions({
      clusters: [{ name: 'test', server, skipTLSVerify: true }],
      users: [{ name: 'test', token: 'token' }],
      contexts: [{ name: 'test', cluster: 'test', user: 'test' }],
      currentContext: 'test',
    });
    return config;
  }

  beforeAll(async () => {
    server = createServer((request, response) => {
      if (request.method === 'POST') {
        response.writeHead(422, { 'content-type': 'application/json' });
        response.end(
          status(422, 'Invalid', 'Namespace "Bad" is invalid: metadata.name: Invalid value: "Bad": a lowercase RFC 1123 label must consist of lower case alphanumeric characters', {
            name: 'Bad',
            kind: 'Namespace',
            causes: [{ reason: 'FieldValueInvalid', message: 'Invalid value: "Bad"', field: 'metadata.name' }],
          }),
        );
        return;
      }
      response.writeHead(404, { 'content-type': 'application/json' });
      response.end(status(404, 'NotFound', 'namespaces "missing" not found'));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('turns a 404 into undefined and a 422 into a KubeApiError with its causes', async () => {
    const namespaces = new NamespaceClient(kubeConfig(url));
    await expect(namespaces.get('missing')).resolves.toBeUndefined();
    const failure = await namespaces.createOrAdopt({ metadata: { name: 'Bad' } }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(KubeApiError);
    expect(failure).toMatchObject({ status: 422, reason: 'Invalid', causes: [{ field: 'metadata.name', reason: 'FieldValueInvalid', message: 'Invalid value: "Bad"' }] });
  });

  it('turns a refused connection into a KubeConnectionError', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const failure = await new NamespaceClient(kubeConfig(`http://127.0.0.1:${port}`)).get('x').catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(KubeConnectionError);
    expect((failure as KubeConnectionError).code).toBe('ECONNREFUSED');
  });
});
