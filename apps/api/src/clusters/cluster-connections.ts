import { Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { ClusterProbe, KubeApiError, KubeConfigError, loadKubeConfig } from '@devpocket/kubernetes';
import { KubernetesRuntime } from '@devpocket/runtime';
import { AppConfig } from '../config/app-config.js';
import { DomainException, ErrorCode } from '../common/domain.exception.js';
import { SecretBox } from '../common/secret-box.js';
import type { ClusterEntity, ClusterStatus } from './cluster.entity.js';
import { ClustersRepository } from './clusters.repository.js';

/** The sealing context of a cluster's kubeconfig: a ciphertext cannot be moved to another row. */
export function kubeconfigContext(clusterId: string): string {
  return `cluster:${clusterId}`;
}

/** The outcome of reaching a cluster's API server. */
export interface ClusterCheck {
  status: Exclude<ClusterStatus, 'pending'>;
  /** The server's gitVersion, when reached. */
  version?: string;
  /** Why it failed, fit for people (no credentials in it). */
  error?: string;
}

/**
 * Live connections to registered clusters: one {@link KubernetesRuntime} per cluster, built
 * from its unsealed kubeconfig on first use and kept (its informer watches the cluster) until
 * the cluster changes or the server stops. The kubeconfig is unsealed only here, in memory.
 */
@Injectable()
export class ClusterConnections implements OnApplicationShutdown {
  private readonly logger = new Logger(ClusterConnections.name);
  private readonly runtimes = new Map<string, Promise<KubernetesRuntime>>();

  constructor(
    private readonly clusters: ClustersRepository,
    private readonly box: SecretBox,
    private readonly config: AppConfig,
  ) {}

  /**
   * Parses a kubeconfig and returns the API server URL of the context it would use.
   * @throws DomainException INVALID_KUBECONFIG (400) naming the problem
   */
  inspectKubeconfig(kubeconfig: string, context?: string): { server: string } {
    try {
      const kubeConfig = loadKubeConfig(kubeconfig, context);
      return { server: kubeConfig.getCurrentCluster()!.server };
    } catch (error) {
      if (error instanceof KubeConfigError) throw new DomainException(ErrorCode.INVALID_KUBECONFIG, `The kubeconfig is not usable: ${error.message}`, [{ field: 'kubeconfig', message: error.message }]);
      throw error;
    }
  }

  /** The runtime of a cluster, built once. @throws Error when the cluster is gone or its kubeconfig cannot be unsealed */
  runtime(clusterId: string): Promise<KubernetesRuntime> {
    let runtime = this.runtimes.get(clusterId);
    if (!runtime) {
      runtime = this.build(clusterId);
      runtime.catch(() => this.runtimes.delete(clusterId));
      this.runtimes.set(clusterId, runtime);
    }
    return runtime;
  }

  /** Reaches the cluster's API server (GET /version) and classifies the outcome. */
  async check(cluster: ClusterEntity): Promise<ClusterCheck> {
    const kubeConfig = this.kubeConfigFrom(cluster);
    try {
      const version = await new ClusterProbe(kubeConfig).getVersion();
      return { status: 'connected', version: version.gitVersion };
    } catch (error) {
      // ClusterProbe throws KubeApiError for an answer, KubeConnectionError when nothing answered.
      if (!(error instanceof KubeApiError)) return { status: 'unreachable', error: (error as Error).message };
      return { status: error.status === 401 || error.status === 403 ? 'unauthorized' : 'error', error: error.message };
    }
  }

  /** Drops the cluster's runtime (its kubeconfig changed or it was removed). */
  async forget(clusterId: string): Promise<void> {
    const runtime = this.runtimes.get(clusterId);
    this.runtimes.delete(clusterId);
    await runtime?.then((built) => built.close()).catch(() => undefined);
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all([...this.runtimes.keys()].map((id) => this.forget(id)));
  }

  private kubeConfigFrom(cluster: ClusterEntity) {
    return loadKubeConfig(this.box.decrypt(cluster.kubeconfigSealed, kubeconfigContext(cluster.id)), cluster.context ?? undefined);
  }

  private async build(clusterId: string): Promise<KubernetesRuntime> {
    const cluster = await this.clusters.findById(clusterId);
    if (!cluster) throw new DomainException(ErrorCode.CLUSTER_NOT_FOUND, 'Cluster not found');
    const kubeConfig = this.kubeConfigFrom(cluster);
    this.logger.log(`connecting to cluster ${clusterId}`);
    return new KubernetesRuntime({ kubeConfig, clusterId, storageClassName: this.config.KUBERNETES_STORAGE_CLASS, logger: this.logger });
  }
}
