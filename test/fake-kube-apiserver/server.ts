/**
 * The HTTP face of the fake kube-apiserver (node:http + ws): routing of the REST paths of the
 * served kinds, bearer-token authentication (401), injected faults and RBAC-style denials
 * (403), JSON/YAML bodies, watch, pod logs and the exec WebSocket upgrade. Paths:
 *
 * - `/version`, `/healthz`, `/livez`, `/readyz` (readable without a token, like
 *   `system:public-info-viewer`), `/`, `/api`, `/apis`, `/api/v1`, `/apis/apps`, `/apis/apps/v1`;
 * - `/api/v1/namespaces[/{name}[/status]]`;
 * - `/api/v1/namespaces/{ns}/{configmaps|services|persistentvolumeclaims|pods}[/{name}[/status]]`;
 * - `/api/v1/namespaces/{ns}/pods/{name}/log`, `/api/v1/namespaces/{ns}/pods/{name}/exec`;
 * - `/apis/apps/v1/namespaces/{ns}/statefulsets[/{name}[/status|/scale]]`;
 * - cluster-wide lists and watches `/api/v1/{pods|configmaps|services|persistentvolumeclaims}`
 *   and `/apis/apps/v1/statefulsets`.
 */
import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import { WebSocketServer } from 'ws';
import { parse as parseYaml } from 'yaml';
import { EXEC_PROTOCOLS, ExecSession, negotiateProtocol } from './exec.js';
import type { Kubelet } from './kubelet.js';
import { applyPatch, assertPatchType, type DeleteOptions, type Registry } from './registry.js';
import { appsGroup, coreVersions, groupList, qualified, resourceList, typeByPlural, VERSION_INFO, type ResourceType } from './resources.js';
import { ApiStatusError, badRequest, failure, generic, methodNotAllowed, notFound, pathNotFound, rbacForbidden, unauthorized, type StatusBody } from './status.js';
import type { WatchHub } from './watch.js';

/** The largest request body accepted, in bytes (kube-apiserver's 3 MiB limit). */
export const MAX_BODY_BYTES = 3 * 1024 * 1024;

/** The user every accepted token authenticates as. */
export const FAKE_USER = 'fake-admin';

/** One request as recorded in {@link ApiServer.requests}. */
export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  /** create, get, list, watch, patch, update, delete, deletecollection, exec, log. */
  verb: string;
  /** The plural, with the subresource if any (`pods/exec`); `''` for non-resource paths. */
  resource: string;
  namespace?: string;
}

/** A fault injected with `failNext`. */
export interface InjectedFault {
  match: { method?: string; resource?: string; namespace?: string };
  status: number;
  reason: string;
  message?: string;
  remaining: number;
}

/** A request path resolved to what it addresses. */
interface Route {
  type: ResourceType;
  namespace?: string;
  name?: string;
  subresource?: string;
}

/** Where a non-resource path goes. */
type NonResource = { body: unknown; public?: boolean; text?: string };

/** The Pod resource type (logs and exec address pods). */
const POD_TYPE = typeByPlural('', 'pods') as ResourceType;

/** How many requests {@link ApiServer.requests} keeps (the oldest are dropped). */
const REQUEST_LOG_LIMIT = 10_000;

/** Default messages of injected failures, as the real server words these codes. */
const DEFAULT_MESSAGES: Record<number, string> = {
  429: 'Too many requests, please try again later.',
  500: 'Internal error occurred: injected failure',
  503: 'the server is currently unable to handle the request',
  504: 'the server was unable to return a response in the time allotted, but may still be processing the request',
};

/** RFC 3339 with nanoseconds, as the kubelet prefixes log lines with `timestamps=true`. */
function rfc3339Nano(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000000Z');
}

/** Dependencies of {@link ApiServer}. */
export interface ApiServerParts {
  registry: Registry;
  watches: WatchHub;
  kubelet: Kubelet;
  tokens: Set<string>;
  warn(message: string): void;
}

/** See the module comment. */
export class ApiServer {
  readonly requests: RecordedRequest[] = [];
  readonly faults: InjectedFault[] = [];
  readonly forbidden = new Set<string>();
  readonly http: Server;
  private readonly sockets = new Set<Socket>();
  private readonly wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, handleProtocols: (offered) => negotiateProtocol(offered) ?? false });
  private readonly logStreams = new Set<ServerResponse>();
  private readonly execSessions = new Set<ExecSession>();
  private address = '';

  constructor(private readonly parts: ApiServerParts) {
    this.http = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => this.answerError(res, error));
    });
    this.http.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    this.http.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
      this.upgrade(req, socket, head).catch((error: unknown) => this.rejectUpgrade(socket, this.statusOf(error)));
    });
  }

  /** Listens on 127.0.0.1 and an ephemeral port; resolves with the base URL. */
  async listen(): Promise<string> {
    await new Promise<void>((resolveListen) => this.http.listen(0, '127.0.0.1', resolveListen));
    const address = this.http.address();
    if (!address || typeof address === 'string') throw new Error('the fake kube-apiserver has no TCP address');
    this.address = `127.0.0.1:${address.port}`;
    return `http://${this.address}`;
  }

  /** Ends log streams and exec sockets, closes the listener and every connection. */
  async close(): Promise<void> {
    for (const res of this.logStreams) res.end();
    this.logStreams.clear();
    for (const session of this.execSessions) session.terminate();
    // Killed processes report their exit within milliseconds; do not wait forever for a wedged one.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all([...this.execSessions].map((s) => s.ended)), new Promise((r) => (timer = setTimeout(r, 1000)))]);
    clearTimeout(timer);
    for (const client of this.wss.clients) client.terminate();
    this.wss.close();
    const closed = new Promise<void>((resolveClose) => this.http.close(() => resolveClose()));
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  private record(req: IncomingMessage, url: URL, verb: string, resource: string, namespace?: string): void {
    const entry: RecordedRequest = { method: req.method ?? 'GET', path: url.pathname, query: Object.fromEntries(url.searchParams), verb, resource };
    if (namespace !== undefined) entry.namespace = namespace;
    this.requests.push(entry);
    if (this.requests.length > REQUEST_LOG_LIMIT) this.requests.splice(0, this.requests.length - REQUEST_LOG_LIMIT);
  }

  private authenticated(req: IncomingMessage): boolean | undefined {
    const header = req.headers.authorization;
    if (!header) return undefined;
    const match = /^Bearer\s+(.+)$/i.exec(header);
    return Boolean(match && this.parts.tokens.has(match[1].trim()));
  }

  /** Authentication, injected faults and RBAC denials, in the real server's filter order. */
  private gate(req: IncomingMessage, verb: string, route: Route | undefined, resource: string, isPublic: boolean): void {
    const auth = this.authenticated(req);
    if (auth === false || (auth === undefined && !isPublic)) throw new ApiStatusError(unauthorized());
    const namespace = route?.namespace;
    const index = this.faults.findIndex(
      (f) =>
        (!f.match.method || f.match.method.toUpperCase() === (req.method ?? 'GET').toUpperCase()) &&
        (!f.match.resource || f.match.resource === resource) &&
        (!f.match.namespace || f.match.namespace === namespace),
    );
    if (index >= 0) {
      const fault = this.faults[index];
      fault.remaining -= 1;
      if (fault.remaining <= 0) this.faults.splice(index, 1);
      const message = fault.message ?? DEFAULT_MESSAGES[fault.status] ?? `injected ${fault.reason} for ${verb} ${resource || 'path'}`;
      throw new ApiStatusError(generic(fault.status, fault.reason, message, route ? qualified(route.type) : undefined, route?.name));
    }
    if (route) {
      const rbacVerb = verb === 'exec' ? 'create' : verb === 'log' ? 'get' : verb;
      if (this.forbidden.has(`${verb} ${resource}`) || this.forbidden.has(`${rbacVerb} ${resource}`)) {
        throw new ApiStatusError(rbacForbidden(FAKE_USER, rbacVerb, qualified(route.type), route.subresource, route.name, route.namespace));
      }
    }
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const method = (req.method ?? 'GET').toUpperCase();
    const nonResource = this.nonResource(url.pathname);
    if (nonResource) {
      this.record(req, url, 'get', '');
      this.gate(req, 'get', undefined, '', Boolean(nonResource.public));
      if (method !== 'GET' && method !== 'HEAD') throw new ApiStatusError(failure(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource'));
      if (nonResource.text !== undefined) {
        res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
        res.end(nonResource.text);
      } else this.json(res, 200, nonResource.body);
      return;
    }
    const route = this.route(url.pathname);
    if (!route) {
      this.record(req, url, method.toLowerCase(), '');
      this.gate(req, method.toLowerCase(), undefined, '', false);
      throw new ApiStatusError(pathNotFound());
    }
    const query = url.searchParams;
    const resource = route.subresource ? `${route.type.plural}/${route.subresource}` : route.type.plural;
    const verb = this.verbOf(method, route, query);
    this.record(req, url, verb, resource, route.namespace);
    this.gate(req, verb, route, resource, false);
    const { registry } = this.parts;
    const { type, namespace, name, subresource } = route;
    const dryRun = query.get('dryRun') === 'All';

    switch (verb) {
      case 'list':
        this.json(res, 200, registry.list(type, namespace, { labelSelector: query.get('labelSelector') ?? undefined, fieldSelector: query.get('fieldSelector') ?? undefined, limit: query.has('limit') ? Number(query.get('limit')) : undefined, continue: query.get('continue') ?? undefined }));
        return;
      case 'watch':
        this.parts.watches.serve(res, type, namespace, Object.fromEntries(query));
        return;
      case 'create':
        this.json(res, 201, registry.create(type, namespace, await this.readObject(req), { dryRun }));
        return;
      case 'get':
        this.json(res, 200, subresource === 'scale' ? registry.getScale(type, namespace as string, name as string) : registry.get(type, namespace, name as string));
        return;
      case 'update': {
        const body = await this.readObject(req);
        if (subresource === 'scale') this.json(res, 200, registry.updateScale(type, namespace as string, name as string, body, { dryRun }));
        else this.json(res, 200, registry.update(type, namespace, name as string, body, { dryRun, subresource: subresource === 'status' ? 'status' : undefined }));
        return;
      }
      case 'patch': {
        const contentType = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
        assertPatchType(contentType);
        const patch = await this.readBody(req, contentType);
        if (subresource === 'scale') {
          const scale = applyPatch(contentType, registry.getScale(type, namespace as string, name as string), patch);
          this.json(res, 200, registry.updateScale(type, namespace as string, name as string, scale, { dryRun }));
          return;
        }
        const result = registry.patch(type, namespace, name as string, contentType, patch, { dryRun, subresource: subresource === 'status' ? 'status' : undefined, fieldManager: query.get('fieldManager') ?? undefined });
        this.json(res, result.created ? 201 : 200, result.object);
        return;
      }
      case 'delete':
        this.json(res, 200, registry.delete(type, namespace, name as string, await this.deleteOptions(req, query)));
        return;
      case 'deletecollection':
        this.json(res, 200, registry.deleteCollection(type, namespace, { labelSelector: query.get('labelSelector') ?? undefined, fieldSelector: query.get('fieldSelector') ?? undefined }, await this.deleteOptions(req, query)));
        return;
      case 'log':
        this.serveLog(res, namespace as string, name as string, query);
        return;
      case 'exec':
        this.checkExec(namespace as string, name as string, query);
        throw new ApiStatusError(badRequest('Upgrade request required'));
      default:
        throw new ApiStatusError(methodNotAllowed(qualified(type), method));
    }
  }

  private verbOf(method: string, route: Route, query: URLSearchParams): string {
    const collection = route.name === undefined;
    const watch = query.get('watch') === 'true' || query.get('watch') === '1';
    if (route.subresource === 'log') return method === 'GET' ? 'log' : 'unsupported';
    if (route.subresource === 'exec') return method === 'GET' || method === 'POST' ? 'exec' : 'unsupported';
    // The all-namespaces path of a namespaced kind (`/api/v1/pods`) only lists and watches.
    if (route.type.namespaced && route.namespace === undefined && !(method === 'GET' || method === 'HEAD')) return 'unsupported';
    switch (method) {
      case 'GET':
      case 'HEAD':
        return collection ? (watch ? 'watch' : 'list') : 'get';
      case 'POST':
        return collection ? 'create' : 'unsupported';
      case 'PUT':
        return collection ? 'unsupported' : 'update';
      case 'PATCH':
        return collection ? 'unsupported' : 'patch';
      case 'DELETE':
        return collection ? 'deletecollection' : 'delete';
      default:
        return 'unsupported';
    }
  }

  private nonResource(path: string): NonResource | undefined {
    const trimmed = path.replace(/\/+$/, '') || '/';
    switch (trimmed) {
      case '/':
        return { body: { paths: ['/api', '/api/v1', '/apis', '/apis/apps', '/apis/apps/v1', '/healthz', '/livez', '/readyz', '/version'] } };
      case '/version':
        return { body: VERSION_INFO, public: true };
      case '/healthz':
      case '/livez':
      case '/readyz':
        return { body: undefined, text: 'ok', public: true };
      case '/api':
        return { body: coreVersions(this.address) };
      case '/apis':
        return { body: groupList() };
      case '/api/v1':
        return { body: resourceList('') };
      case '/apis/apps':
        return { body: appsGroup() };
      case '/apis/apps/v1':
        return { body: resourceList('apps') };
      default:
        return undefined;
    }
  }

  /** Resolves a resource path (see the module comment); undefined when nothing is served there. */
  private route(path: string): Route | undefined {
    let segments: string[];
    try {
      segments = path.split('/').filter(Boolean).map(decodeURIComponent);
    } catch (error) {
      // A malformed %-escape addresses nothing.
      if (error instanceof URIError) return undefined;
      throw error;
    }
    let group: string;
    let rest: string[];
    if (segments[0] === 'api' && segments[1] === 'v1') [group, rest] = ['', segments.slice(2)];
    else if (segments[0] === 'apis' && segments[1] === 'apps' && segments[2] === 'v1') [group, rest] = ['apps', segments.slice(3)];
    else return undefined;

    const nested = rest[0] === 'namespaces' && rest.length >= 3 ? typeByPlural(group, rest[2]) : undefined;
    if (nested?.namespaced) {
      const [, namespace, , name, subresource, ...extra] = rest;
      if (extra.length > 0 || (subresource && !nested.subresources.includes(subresource))) return undefined;
      return { type: nested, namespace, name, subresource };
    }
    const type = typeByPlural(group, rest[0] ?? '');
    if (!type) return undefined;
    const [, name, subresource, ...extra] = rest;
    if (extra.length > 0 || (subresource && !type.subresources.includes(subresource))) return undefined;
    if (type.namespaced && name !== undefined) return undefined;
    return { type, name, subresource };
  }

  private async readBody(req: IncomingMessage, contentType: string): Promise<unknown> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > MAX_BODY_BYTES) throw new ApiStatusError(failure(413, 'RequestEntityTooLarge', `Request entity too large: limit is ${MAX_BODY_BYTES}`));
      chunks.push(chunk as Buffer);
    }
    const text = Buffer.concat(chunks).toString('utf8');
    if (text.trim() === '') return undefined;
    try {
      return contentType.includes('yaml') ? parseYaml(text) : JSON.parse(text);
    } catch (error) {
      throw new ApiStatusError(badRequest(`couldn't get version/kind; json parse error: ${(error as Error).message}`));
    }
  }

  private async readObject(req: IncomingMessage): Promise<any> {
    const contentType = (req.headers['content-type'] ?? 'application/json').split(';')[0].trim().toLowerCase();
    const body = await this.readBody(req, contentType);
    if (body === undefined) throw new ApiStatusError(badRequest("couldn't get version/kind; json parse error: unexpected end of JSON input"));
    return body;
  }

  private async deleteOptions(req: IncomingMessage, query: URLSearchParams): Promise<DeleteOptions> {
    const body = ((await this.readBody(req, 'application/json')) ?? {}) as any;
    const grace = query.get('gracePeriodSeconds') ?? body.gracePeriodSeconds;
    let policy = query.get('propagationPolicy') ?? body.propagationPolicy;
    if (!policy && (query.get('orphanDependents') === 'true' || body.orphanDependents === true)) policy = 'Orphan';
    if (policy && !['Foreground', 'Background', 'Orphan'].includes(policy)) {
      throw new ApiStatusError(badRequest(`DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: "${policy}": supported values: "Foreground", "Background", "Orphan"`));
    }
    return {
      gracePeriodSeconds: grace === undefined || grace === null ? undefined : Number(grace),
      propagationPolicy: policy,
      preconditions: body.preconditions,
      dryRun: query.get('dryRun') === 'All' || (Array.isArray(body.dryRun) && body.dryRun.includes('All')),
    };
  }

  /** `GET pods/{name}/log`: text/plain lines; `follow` keeps the response open until the container stops. */
  private serveLog(res: ServerResponse, namespace: string, name: string, query: URLSearchParams): void {
    const { registry, kubelet } = this.parts;
    const pod = registry.get(POD_TYPE, namespace, name);
    const container = kubelet.resolveContainer(pod, query.get('container') || undefined, true);
    const tailLines = query.has('tailLines') ? Number(query.get('tailLines')) : undefined;
    const limitBytes = query.has('limitBytes') ? Number(query.get('limitBytes')) : undefined;
    for (const [field, value] of [['tailLines', tailLines], ['limitBytes', limitBytes]] as const) {
      if (value !== undefined && (!Number.isInteger(value) || value < (field === 'limitBytes' ? 1 : 0))) {
        throw new ApiStatusError(failure(422, 'Invalid', `PodLogOptions "" is invalid: ${field}: Invalid value: ${value}: must be greater than or equal to ${field === 'limitBytes' ? 1 : 0}`));
      }
    }
    kubelet.assertContainerStarted(pod, container, 'log');
    const status = [...(pod.status?.containerStatuses ?? []), ...(pod.status?.initContainerStatuses ?? [])].find((s: any) => s.name === container);
    if (query.get('previous') === 'true' && !status?.lastState?.terminated) {
      throw new ApiStatusError(badRequest(`previous terminated container "${container}" in pod "${name}" not found`));
    }
    const log = kubelet.containerLog(pod.metadata.uid, container);
    if (!log) throw new ApiStatusError(notFound(qualified(POD_TYPE), name));
    const timestamps = query.get('timestamps') === 'true';
    const since = query.has('sinceSeconds') ? Date.now() - Number(query.get('sinceSeconds')) * 1000 : query.has('sinceTime') ? Date.parse(query.get('sinceTime') as string) : undefined;
    let lines = log.lines.filter((line) => since === undefined || line.time.getTime() >= since);
    if (tailLines !== undefined) lines = tailLines === 0 ? [] : lines.slice(-tailLines);

    res.writeHead(200, { 'Content-Type': 'text/plain', 'Transfer-Encoding': 'chunked', 'Cache-Control': 'no-cache, private', 'Audit-Id': randomUUID() });
    res.flushHeaders();
    let written = 0;
    const write = (line: { time: Date; text: string }): boolean => {
      let text = `${timestamps ? `${rfc3339Nano(line.time)} ` : ''}${line.text}\n`;
      if (limitBytes !== undefined && written + Buffer.byteLength(text) > limitBytes) {
        text = Buffer.from(text).subarray(0, limitBytes - written).toString('utf8');
      }
      written += Buffer.byteLength(text);
      res.write(text);
      return limitBytes === undefined || written < limitBytes;
    };
    for (const line of lines) {
      if (!write(line)) {
        res.end();
        return;
      }
    }
    if (query.get('follow') !== 'true' || log.ended) {
      res.end();
      return;
    }
    this.logStreams.add(res);
    const stop = log.follow(
      (line) => {
        if (!write(line)) finish();
      },
      () => finish(),
    );
    const finish = () => {
      stop();
      this.logStreams.delete(res);
      if (!res.writableEnded) res.end();
    };
    res.on('close', finish);
  }

  /** The checks the API server and kubelet make before an exec starts; returns what it needs. */
  private checkExec(namespace: string, name: string, query: URLSearchParams): { pod: any; container: string; command: string[]; stdin: boolean; stdout: boolean; stderr: boolean; tty: boolean } {
    const { registry, kubelet } = this.parts;
    const pod = registry.get(POD_TYPE, namespace, name);
    const flag = (key: string) => query.get(key) === 'true' || query.get(key) === '1';
    const tty = flag('tty');
    const stdin = flag('stdin');
    const stdout = flag('stdout');
    // The API server bypasses stderr for a TTY (stderr goes to the terminal).
    const stderr = flag('stderr') && !tty;
    if (!stdin && !stdout && !flag('stderr')) throw new ApiStatusError(badRequest('you must specify at least 1 of stdin, stdout, stderr'));
    const command = query.getAll('command');
    if (command.length === 0) throw new ApiStatusError(badRequest('you must specify at least one command for the container'));
    const container = kubelet.resolveContainer(pod, query.get('container') || undefined, false);
    kubelet.assertContainerStarted(pod, container, 'exec');
    return { pod, container, command, stdin, stdout, stderr, tty };
  }

  private async upgrade(req: IncomingMessage, socket: Socket, head: Buffer): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const route = this.route(url.pathname);
    if (!route || route.subresource !== 'exec') {
      this.record(req, url, 'get', route ? `${route.type.plural}${route.subresource ? `/${route.subresource}` : ''}` : '', route?.namespace);
      this.gate(req, 'get', undefined, '', false);
      throw new ApiStatusError(badRequest('Upgrade request required'));
    }
    this.record(req, url, 'exec', 'pods/exec', route.namespace);
    this.gate(req, 'exec', route, 'pods/exec', false);
    const exec = this.checkExec(route.namespace as string, route.name as string, url.searchParams);
    const offered = String(req.headers['sec-websocket-protocol'] ?? '')
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean);
    const protocol = negotiateProtocol(offered);
    if (!protocol) throw new ApiStatusError(badRequest(`requested protocol(s) are not supported: [${offered.join(' ')}]; supports [${EXEC_PROTOCOLS.join(' ')}]`));
    const sandbox = await this.parts.kubelet.sandbox(route.namespace as string, route.name as string);
    const env = this.parts.kubelet.execEnvironment(exec.pod, exec.container, sandbox);
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      let untrack = () => undefined as unknown;
      const session = new ExecSession(ws, protocol, { command: exec.command, stdin: exec.stdin, stdout: exec.stdout, stderr: exec.stderr, tty: exec.tty, cwd: sandbox.home, env }, () => {
        this.execSessions.delete(session);
        untrack();
      });
      this.execSessions.add(session);
      untrack = this.parts.kubelet.trackExec(exec.pod.metadata.uid, session);
    });
  }

  private statusOf(error: unknown): StatusBody {
    if (error instanceof ApiStatusError) return error.status;
    this.parts.warn(`fake kube-apiserver: unexpected error: ${error instanceof Error ? error.stack : String(error)}`);
    return failure(500, 'InternalError', `Internal error occurred: ${error instanceof Error ? error.message : String(error)}`);
  }

  private answerError(res: ServerResponse, error: unknown): void {
    const status = this.statusOf(error);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const headers: Record<string, string> = {};
    if (status.details?.retryAfterSeconds) headers['Retry-After'] = String(status.details.retryAfterSeconds);
    this.json(res, status.code ?? 500, status, headers);
  }

  private rejectUpgrade(socket: Socket, status: StatusBody): void {
    const code = status.code ?? 500;
    const body = JSON.stringify(status);
    if (socket.destroyed) return;
    socket.end(`HTTP/1.1 ${code} ${STATUS_CODES[code] ?? 'Error'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  }

  private json(res: ServerResponse, code: number, body: unknown, headers: Record<string, string> = {}): void {
    const text = JSON.stringify(body);
    res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-cache, private', 'Audit-Id': randomUUID(), ...headers });
    res.end(text);
  }
}
