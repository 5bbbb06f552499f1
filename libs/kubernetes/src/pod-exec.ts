import type { IncomingMessage } from 'node:http';
import { PassThrough, Writable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { ApiException, Exec, type KubeConfig, type V1Status } from '@kubernetes/client-node';
import WebSocket from 'ws';
import { translateKubeError } from './errors.js';
import type { RbacRule } from './rbac.js';

/** client-node's WebSocket seam of `Exec` (not exported by name from the package). */
type WebSocketInterface = NonNullable<ConstructorParameters<typeof Exec>[1]>;

/**
 * The stream protocols offered, best first: v5 (adds a CLOSE frame per stream, Kubernetes
 * ≥ 1.30) then v4 (JSON exit status on channel 3). Both carry stdin on channel 0, stdout on 1,
 * stderr on 2, the status on 3 and terminal resizes on 4 (KEP-4006, the kubelet's
 * remotecommand protocol: k8s.io/apimachinery/pkg/util/remotecommand/constants.go).
 */
export const EXEC_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io'] as const;

const CLOSE_STREAM = 255;

/** How long a closed session's WebSocket gets for its closing handshake, in milliseconds. */
const CLOSE_GRACE_MS = 5_000;

/** How an exec ended: the process's exit code (from the channel-3 status), or 1 when the connection ended without one. */
export interface ExecExit {
  exitCode: number;
  signal?: number;
}

/**
 * A TTY exec session: the same shape as the runtime's TerminalStream, so that a driver can hand
 * it out as it is. Output is UTF-8 text, never split inside a code point.
 */
export interface ExecSession {
  /** Registers an output listener; output that arrived before the first listener is delivered to it. */
  onData(listener: (data: string) => void): void;
  /** Registers a listener called once when the exec ends (at once, asynchronously, if it has). */
  onExit(listener: (exit: ExecExit) => void): void;
  /** Sends keystrokes (UTF-8) on channel 0. Ignored once the session ended. */
  write(data: string): void;
  /**
   * Sends a resize on channel 4 (`{"Width":cols,"Height":rows}`), in character cells.
   * @throws RangeError for a size that is not two positive integers.
   */
  resize(cols: number, rows: number): void;
  /** Stops reading from the WebSocket (back-pressure reaches the kubelet). */
  pause(): void;
  /** Resumes reading after {@link pause}. */
  resume(): void;
  /** Closes the WebSocket: the kubelet closes the TTY and the process gets SIGHUP. Idempotent. */
  close(): void;
}

/**
 * `exec` into a container with a TTY (POST/GET …/pods/{name}/exec upgraded to a WebSocket),
 * through client-node's `Exec`: stdin is a stream, stdout a Writable that has `columns`/`rows`
 * and emits `resize`, which is how client-node sends channel-4 resizes. The WebSocket itself
 * is opened here (see {@link ChannelConnector}) to offer v5 then v4, to keep the Status body of
 * a refused upgrade (so a 403 keeps its reason), and to pause reading.
 */
export class PodExec {
  /**
   * The RBAC this class needs. A WebSocket exec is a GET upgraded to a WebSocket; since
   * Kubernetes 1.30 the API server also authorizes it as `create` (KEP-4006), hence both.
   */
  static readonly rbac: readonly RbacRule[] = [{ apiGroup: '', resource: 'pods/exec', verbs: ['create', 'get'] }];

  constructor(private readonly kubeConfig: KubeConfig) {}

  /**
   * Runs `command` in `container` of the pod with a TTY of `size` cells (stdin and stdout; with
   * a TTY stderr is merged into stdout). Resolves once the WebSocket is open.
   * @throws KubeApiError when the upgrade is refused (403 Forbidden, 404 NotFound, 400 container not running),
   *   KubeConnectionError when the API server cannot be reached.
   */
  async open(namespace: string, pod: string, container: string, command: string[], size: { cols: number; rows: number }): Promise<ExecSession> {
    assertSize(size.cols, size.rows);
    const action = `exec into container ${container} of Pod ${namespace}/${pod}`;
    const output = new TerminalOutput(size.cols, size.rows);
    const input = new PassThrough();
    const session = new ChannelExecSession(input, output);
    const exec = new Exec(this.kubeConfig, new ChannelConnector(this.kubeConfig));
    let socket: WebSocket;
    try {
      socket = (await exec.exec(namespace, pod, container, command, output, null, input, true, (status) => session.status(status))) as WebSocket;
    } catch (error) {
      input.destroy();
      throw translateKubeError(error, action);
    }
    session.attach(socket);
    return session;
  }
}

/**
 * client-node's `WebSocketInterface`, opening the WebSocket with `ws` directly. Differences from
 * client-node's own handler: only v5/v4 are offered; a refused upgrade becomes an ApiException
 * carrying the API server's Status body; a v5 CLOSE frame is consumed here (client-node's would
 * end process.stdout).
 */
class ChannelConnector implements WebSocketInterface {
  constructor(private readonly kubeConfig: KubeConfig) {}

  async connect(
    path: string,
    textHandler: ((text: string) => boolean) | null,
    binaryHandler: ((stream: number, buff: Buffer) => boolean) | null,
  ): Promise<WebSocket> {
    const cluster = this.kubeConfig.getCurrentCluster();
    if (!cluster) throw new Error('the kubeconfig has no current cluster');
    const url = cluster.server.replace(/^http(s?):\/\//, 'ws$1://') + path;
    const options: WebSocket.ClientOptions = {};
    await this.kubeConfig.applyToHTTPSOptions(options);
    return new Promise<WebSocket>((resolve, reject) => {
      const socket = new WebSocket(url, [...EXEC_PROTOCOLS], options);
      let settled = false;
      const fail = (error: unknown): void => {
        if (settled) return;
        settled = true;
        reject(error);
      };
      socket.on('unexpected-response', (_request, response: IncomingMessage) => {
        readBody(response).then(
          (body) => {
            fail(new ApiException(response.statusCode ?? 500, 'exec upgrade refused', body, normalizeHeaders(response.headers)));
            socket.terminate();
          },
          (error: unknown) => {
            fail(error);
            socket.terminate();
          },
        );
      });
      socket.on('error', (error) => {
        // After the open, errors end the session through 'close'; before it, they fail the exec.
        fail(error);
      });
      socket.on('open', () => {
        settled = true;
        resolve(socket);
      });
      socket.on('message', (data: Buffer, isBinary: boolean) => {
        if (!isBinary) {
          if (textHandler && !textHandler(data.toString('utf8'))) socket.close();
          return;
        }
        if (data.length < 1 || data[0] === CLOSE_STREAM) return;
        if (binaryHandler && !binaryHandler(data[0], data.subarray(1))) socket.close();
      });
    });
  }
}

/** The stdout client-node writes to: a Writable with `columns`/`rows` that emits `resize` (client-node's `isResizable`). */
class TerminalOutput extends Writable {
  private readonly decoder = new StringDecoder('utf8');
  private readonly dataListeners: Array<(data: string) => void> = [];
  private pending = '';

  constructor(
    public columns: number,
    public rows: number,
  ) {
    super();
  }

  subscribe(listener: (data: string) => void): void {
    this.dataListeners.push(listener);
    if (this.pending) {
      const data = this.pending;
      this.pending = '';
      listener(data);
    }
  }

  setSize(cols: number, rows: number): void {
    this.columns = cols;
    this.rows = rows;
    this.emit('resize');
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.deliver(this.decoder.write(chunk));
    callback();
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.deliver(this.decoder.end());
    callback();
  }

  private deliver(text: string): void {
    if (!text) return;
    if (this.dataListeners.length === 0) {
      this.pending += text;
      return;
    }
    for (const listener of this.dataListeners) listener(text);
  }
}

class ChannelExecSession implements ExecSession {
  private socket?: WebSocket;
  private exit?: ExecExit;
  private exitStatus?: ExecExit;
  private closedByUs = false;
  private readonly exitListeners: Array<(exit: ExecExit) => void> = [];

  constructor(
    private readonly input: PassThrough,
    private readonly output: TerminalOutput,
  ) {}

  attach(socket: WebSocket): void {
    this.socket = socket;
    socket.on('close', () => this.finish());
  }

  /** The channel-3 status: Success, or Failure with reason NonZeroExitCode and the code in details.causes. */
  status(status: V1Status): void {
    this.exitStatus = exitOf(status);
  }

  onData(listener: (data: string) => void): void {
    this.output.subscribe(listener);
  }

  onExit(listener: (exit: ExecExit) => void): void {
    const exit = this.exit;
    if (exit) queueMicrotask(() => listener(exit));
    else this.exitListeners.push(listener);
  }

  write(data: string): void {
    if (this.exit || this.closedByUs) return;
    this.input.write(Buffer.from(data, 'utf8'));
  }

  resize(cols: number, rows: number): void {
    if (this.exit || this.closedByUs) return;
    assertSize(cols, rows);
    this.output.setSize(cols, rows);
  }

  pause(): void {
    if (!this.exit) this.socket?.pause();
  }

  resume(): void {
    if (!this.exit) this.socket?.resume();
  }

  close(): void {
    if (this.closedByUs || this.exit) return;
    this.closedByUs = true;
    const socket = this.socket;
    if (!socket) return;
    socket.resume();
    socket.close(1000);
    const timer = setTimeout(() => {
      if (!this.exit) socket.terminate();
    }, CLOSE_GRACE_MS);
    timer.unref();
  }

  private finish(): void {
    if (this.exit) return;
    this.exit = this.exitStatus ?? { exitCode: this.closedByUs ? 0 : 1 };
    this.input.end();
    if (!this.output.writableEnded) this.output.end();
    for (const listener of this.exitListeners.splice(0)) listener(this.exit);
  }
}

function exitOf(status: V1Status): ExecExit {
  if (status.status === 'Success') return { exitCode: 0 };
  const code = status.details?.causes?.find((cause) => cause.reason === 'ExitCode')?.message;
  const parsed = code === undefined ? Number.NaN : Number.parseInt(code, 10);
  return { exitCode: Number.isInteger(parsed) ? parsed : 1 };
}

function assertSize(cols: number, rows: number): void {
  if (!Number.isInteger(cols) || !Number.isInteger(rows) || cols < 1 || rows < 1 || cols > 65535 || rows > 65535) {
    throw new RangeError(`Invalid terminal size ${cols}x${rows}`);
  }
}

function readBody(response: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    response.on('data', (chunk: Buffer) => chunks.push(chunk));
    response.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    response.on('error', reject);
  });
}

function normalizeHeaders(headers: IncomingMessage['headers']): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) result[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return result;
}
