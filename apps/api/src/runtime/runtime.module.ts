import { Global, Logger, Module } from '@nestjs/common';
import { EnvironmentRuntime, LocalRuntime } from '@devpocket/runtime';
import { AppConfig } from '../config/app-config.js';

/**
 * Provides the {@link EnvironmentRuntime} the environments use. With no cluster configured it
 * is the local driver: tmux sessions on this host, files under DATA_DIR/environments. Its tmux
 * servers are left running at shutdown on purpose: shells outlive the API process.
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
export class RuntimeModule {}
