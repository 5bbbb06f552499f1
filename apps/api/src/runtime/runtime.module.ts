import { Global, Logger, Module, type OnApplicationShutdown } from '@nestjs/common';
import { EnvironmentRuntime, LocalRuntime } from '@devpocket/runtime';
import { AppConfig } from '../config/app-config.js';

/**
 * Provides the {@link EnvironmentRuntime} the environments use. With no cluster configured it
 * is the local driver: tmux sessions on this host, files under DATA_DIR/environments.
 */
@Global()
@Module({
  providers: [
    {
      provide: EnvironmentRuntime,
      inject: [AppConfig],
      useFactory: (config: AppConfig) => {
        const logger = new Logger('LocalRuntime');
        return new LocalRuntime({ dataDir: config.dataDir, socketDir: config.TMUX_SOCKET_DIR, logger });
      },
    },
  ],
  exports: [EnvironmentRuntime],
})
export class RuntimeModule implements OnApplicationShutdown {
  onApplicationShutdown(): void {
    // tmux servers are left running on purpose: shells outlive the API process (DESIGN.md).
  }
}
