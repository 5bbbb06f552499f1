import { VersionApi, type KubeConfig } from '@kubernetes/client-node';
import { kubeCall } from './errors.js';
import { DEFAULT_REQUEST_TIMEOUT_MS, requestOptions, type KubeClientOptions } from './request-options.js';

/** What {@link ClusterProbe.getVersion} reports, from the API server's `/version`. */
export interface ClusterVersion {
  /** e.g. `v1.31.2`. */
  gitVersion: string;
  /** e.g. `linux/amd64`. */
  platform: string;
}

/**
 * Checks that a cluster answers, for registering a cluster and for health checks.
 * `/version` is a non-resource URL that every authenticated user may read (the default
 * `system:public-info-viewer` ClusterRole), so it needs no rule of the driver's RBAC.
 */
export class ClusterProbe {
  private readonly api: VersionApi;
  private readonly timeoutMs: number;

  constructor(kubeConfig: KubeConfig, options: KubeClientOptions = {}) {
    this.api = kubeConfig.makeApiClient(VersionApi);
    this.timeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  }

  /**
   * GET /version.
   * @throws KubeApiError (e.g. 401 Unauthorized for a bad token), KubeConnectionError when unreachable.
   */
  async getVersion(): Promise<ClusterVersion> {
    const info = await kubeCall('read the cluster version', () => this.api.getCode(undefined, requestOptions(this.timeoutMs)));
    return { gitVersion: info.gitVersion, platform: info.platform };
  }
}
