import { createSecretKey, type KeyObject } from 'node:crypto';
import { Global, Module, type DynamicModule } from '@nestjs/common';
import { AppConfig } from './app-config.js';

/** Secrets resolved at boot: given by configuration, or generated once into DATA_DIR. */
export class ServerSecrets {
  /**
   * {@link jwtSecret} as a secret KeyObject. jsonwebtoken first tries to read a string or
   * Buffer key as a public key (`crypto.createPublicKey`, which throws for an HMAC secret) on
   * every verification; a KeyObject skips that, a measurable share of each request's CPU.
   */
  readonly jwtKey: KeyObject;

  constructor(
    /** HMAC key for access tokens (HS256). */
    readonly jwtSecret: string,
    /** 32-byte AES-256-GCM key for secrets at rest (kubeconfigs). */
    readonly encryptionKey: Buffer,
  ) {
    this.jwtKey = createSecretKey(Buffer.from(jwtSecret, 'utf8'));
  }
}

/** Makes the validated {@link AppConfig} and {@link ServerSecrets} injectable everywhere. */
@Global()
@Module({})
export class ConfigModule {
  static forRoot(config: AppConfig, secrets: ServerSecrets): DynamicModule {
    return {
      module: ConfigModule,
      providers: [
        { provide: AppConfig, useValue: config },
        { provide: ServerSecrets, useValue: secrets },
      ],
      exports: [AppConfig, ServerSecrets],
    };
  }
}
