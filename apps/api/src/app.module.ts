import { Global, Module, type DynamicModule } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { MIGRATIONS } from '../../../migrations/index.js';
import { ApiKeysModule } from './api-keys/api-keys.module.js';
import { AuditModule } from './audit/audit.module.js';
import { AuthModule } from './auth/auth.module.js';
import { ClustersModule } from './clusters/clusters.module.js';
import { DeviceAuthModule } from './device-auth/device-auth.module.js';
import { Clock } from './common/clock.js';
import { SecretBox } from './common/secret-box.js';
import type { AppConfig } from './config/app-config.js';
import { ConfigModule, type ServerSecrets } from './config/config.module.js';
import { EnvironmentsModule } from './environments/environments.module.js';
import { HealthModule } from './health/health.module.js';
import { MetricsModule } from './metrics/metrics.module.js';
import { IdentityModule } from './identity/identity.module.js';
import { RateLimitsModule } from './rate-limits/rate-limits.module.js';
import { RuntimeModule } from './runtime/runtime.module.js';
import { SharesModule } from './shares/shares.module.js';
import { TemplatesModule } from './templates/templates.module.js';
import { TerminalModule } from './terminal/terminal.module.js';
import { UsersModule } from './users/users.module.js';

/** Process-wide helpers every feature may inject. */
@Global()
@Module({ providers: [Clock, SecretBox], exports: [Clock, SecretBox] })
class CoreModule {}

/** What the application module is built from at boot. */
export interface AppModuleOptions {
  config: AppConfig;
  secrets: ServerSecrets;
  databaseUrl: string;
}

/** The root module: configuration, database (migrations run at start, never synchronize), features. */
@Module({})
export class AppModule {
  static forRoot(options: AppModuleOptions): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(options.config, options.secrets),
        CoreModule,
        TypeOrmModule.forRoot({
          type: 'postgres',
          url: options.databaseUrl,
          autoLoadEntities: true,
          synchronize: false,
          migrations: MIGRATIONS,
          migrationsRun: true,
          migrationsTransactionMode: 'each',
          // Failed queries are not logged by TypeORM: their parameters can hold password hashes.
          logging: ['migration'],
          retryAttempts: 3,
          retryDelay: 1000,
        }),
        RuntimeModule,
        RateLimitsModule,
        AuditModule,
        AuthModule,
        IdentityModule,
        DeviceAuthModule,
        ApiKeysModule,
        UsersModule,
        TemplatesModule,
        ClustersModule,
        EnvironmentsModule,
        SharesModule,
        TerminalModule,
        HealthModule,
        MetricsModule,
      ],
    };
  }
}
