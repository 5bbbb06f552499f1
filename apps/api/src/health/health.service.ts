import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { SERVER_VERSION } from '../common/version.js';
import { AppConfig } from '../config/app-config.js';
import { RateLimitStorage } from '../rate-limits/rate-limit.storage.js';

/** `{status, database, cache, runtime, version}` of GET /health/ready. */
export interface ReadinessReport {
  status: 'ok' | 'error';
  database: 'up' | 'down';
  cache: 'up' | 'down';
  runtime: 'up' | 'down';
  version: string;
}

const CHECK_TIMEOUT_MS = 2000;
const run = promisify(execFile);

function withTimeout<T>(work: Promise<T>): Promise<T> {
  return Promise.race([work, new Promise<T>((_, reject) => setTimeout(() => reject(new Error('timed out')), CHECK_TIMEOUT_MS).unref())]);
}

/** The server's version and its dependencies' health. */
@Injectable()
export class HealthService {
  readonly version = SERVER_VERSION;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly cache: RateLimitStorage,
    private readonly config: AppConfig,
  ) {}

  async readiness(): Promise<ReadinessReport> {
    const [database, runtime, cache] = await Promise.all([
      this.probe(() => this.dataSource.query('SELECT 1')),
      // The local runtime serves whenever no cluster is named, so tmux must answer; with it off
      // (clusters only, as the Helm chart runs) the server needs no tmux of its own.
      this.config.LOCAL_RUNTIME_ENABLED ? this.probe(() => run('tmux', ['-V'])) : ('up' as const),
      // Redis when REDIS_URL is set, else the in-process counters.
      this.probe(() => this.cache.ping()),
    ]);
    const ok = database === 'up' && runtime === 'up' && cache === 'up';
    return { status: ok ? 'ok' : 'error', database, cache, runtime, version: this.version };
  }

  private async probe(check: () => Promise<unknown>): Promise<'up' | 'down'> {
    try {
      await withTimeout(check());
      return 'up';
    } catch {
      return 'down';
    }
  }
}
