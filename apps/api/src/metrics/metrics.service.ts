import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Registry } from 'prom-client';

/**
 * The server's Prometheus metrics: prom-client's default process metrics (CPU, memory, event
 * loop lag, handles) with the `devpocket_` prefix, and what features register on {@link registry}.
 * One registry per application, so servers in one process (tests) never collide.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'devpocket_' });
  }

  /** The exposition content type (Prometheus text format 0.0.4). */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** Every metric in the Prometheus text format. */
  render(): Promise<string> {
    return this.registry.metrics();
  }
}
