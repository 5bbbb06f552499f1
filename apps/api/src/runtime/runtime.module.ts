import { Global, Injectable, Logger, Module } from '@nestjs/common';
import { LocalRuntime, type EnvironmentRuntime, type RuntimeKind } from '@devpocket/runtime';
import { ClusterConnections } from '../clusters/cluster-connections.js';
import { ClustersModule } from '../clusters/clusters.module.js';
import { AppConfig } from '../config/app-config.js';

/**
 * Picks the driver of each environment: the local one (tmux on this host) or the Kubernetes
 * runtime of the environment's cluster.
 */
@Injectable()
export class RuntimeRegistry {
  constructor(
    readonly local: LocalRuntime,
    private readonly clusters: ClusterConnections,
  ) {}

  /**
   * The runtime that runs an environment.
   * @throws Error when its cluster is gone or cannot be connected to
   */
  forEnvironment(env: { runtime: RuntimeKind; clusterId: string | null }): Promise<EnvironmentRuntime> {
    if (env.runtime === 'kubernetes' && env.clusterId) return this.clusters.runtime(env.clusterId);
    return Promise.resolve(this.local);
  }
}

/**
 * Provides the runtimes environments use. With no cluster registered every environment runs
 * on the local driver: tmux sessions on this host, files under DATA_DIR/environments. Its tmux
 * servers are left running at shutdown on purpose: shells outlive the API process.
 */
@Global()
@Module({
  imports: [ClustersModule],
  providers: [
    {
      provide: LocalRuntime,
      inject: [AppConfig],
      useFactory: (config: AppConfig) => new LocalRuntime({ dataDir: config.dataDir, socketDir: config.TMUX_SOCKET_DIR, logger: new Logger('LocalRuntime') }),
    },
    RuntimeRegistry,
  ],
  exports: [LocalRuntime, RuntimeRegistry],
})
export class RuntimeModule {}
