import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { filter, Subject, type Observable } from 'rxjs';
import type { EnvironmentStatus } from './environment-state.js';

/** A status change of an environment; `deleted` follows `terminating` when the row is gone. */
export interface EnvironmentStatusChange {
  environmentId: string;
  userId: string;
  status: EnvironmentStatus | 'deleted';
}

/** In-process bus of environment status changes (the terminal gateways listen to it). */
@Injectable()
export class EnvironmentEvents implements OnModuleDestroy {
  private readonly changes = new Subject<EnvironmentStatusChange>();

  publish(change: EnvironmentStatusChange): void {
    this.changes.next(change);
  }

  /** Every change, or only one environment's. */
  statusChanges(environmentId?: string): Observable<EnvironmentStatusChange> {
    return environmentId ? this.changes.pipe(filter((change) => change.environmentId === environmentId)) : this.changes.asObservable();
  }

  onModuleDestroy(): void {
    this.changes.complete();
  }
}
