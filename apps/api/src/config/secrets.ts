import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '@nestjs/common';
import { ConfigError, type AppConfig } from './app-config.js';
import { ServerSecrets } from './config.module.js';

/**
 * Reads a secret kept in `<dataDir>/secrets/<name>`, creating it (32 random bytes, base64url,
 * mode 0600) on first use. Used when the configuration does not give the secret, so that a
 * one-machine install needs no set-up and keeps its tokens valid across restarts.
 */
async function persistentSecret(dataDir: string, name: string): Promise<{ value: string; created: boolean }> {
  const dir = join(dataDir, 'secrets');
  const file = join(dir, name);
  try {
    return { value: (await readFile(file, 'utf8')).trim(), created: false };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const value = randomBytes(32).toString('base64url');
  await writeFile(file, value, { mode: 0o600, flag: 'wx' });
  return { value, created: true };
}

/** Resolves the server's secrets from configuration, or from DATA_DIR (with a warning). */
export async function resolveSecrets(config: AppConfig, logger: Logger): Promise<ServerSecrets> {
  let jwtSecret = config.JWT_SECRET;
  if (!jwtSecret) {
    const secret = await persistentSecret(config.dataDir, 'jwt-secret');
    if (secret.created) logger.warn('JWT_SECRET is not set: generated one into DATA_DIR/secrets; set JWT_SECRET when running more than one replica');
    jwtSecret = secret.value;
  }
  let encryptionKey: Buffer;
  if (config.ENCRYPTION_KEY) {
    encryptionKey = Buffer.from(config.ENCRYPTION_KEY, /^[0-9a-fA-F]{64}$/.test(config.ENCRYPTION_KEY) ? 'hex' : 'base64url');
  } else {
    const secret = await persistentSecret(config.dataDir, 'encryption-key');
    if (secret.created) logger.warn('ENCRYPTION_KEY is not set: generated one into DATA_DIR/secrets; back it up, or set ENCRYPTION_KEY, to keep registered clusters readable');
    encryptionKey = Buffer.from(secret.value, 'base64url');
  }
  if (encryptionKey.length !== 32) throw new ConfigError('ENCRYPTION_KEY must decode to exactly 32 bytes');
  return new ServerSecrets(jwtSecret, encryptionKey);
}
