import { Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import type { EnvironmentRuntime, RuntimeEnvironment, RuntimeStatusEvent } from '@devpocket/runtime';
import type { Observable, Subscription } from 'rxjs';
import type { AuthUser } from '../auth/auth-user.js';
import { AuditService } from '../audit/audit.service.js';
import { ClustersService } from '../clusters/clusters.service.js';
import { DomainException, ErrorCode } from '../common/domain.exception.js';
import { violatedUniqueConstraint } from '../common/postgres-errors.js';
import type { Page } from '../common/validation.js';
import { PlanLimits } from '../plans/plan-limits.js';
import { RuntimeRegistry } from '../runtime/runtime.module.js';
import { TemplatesService } from '../templates/templates.service.js';
import {
  toEnvironmentDto,
  type CreateEnvironmentDto,
  type EnvironmentDto,
  type EnvironmentLogsDto,
  type ListEnvironmentsQueryDto,
} from './dto/environment.dto.js';
import { EnvironmentEvents } from './environment-events.js';
import type { EnvironmentEntity } from './environment.entity.js';
import {
  allowedStatuses,
  canPerform,
  ENVIRONMENT_STATUSES,
  predecessorsOf,
  statusOnRequest,
  TRANSITIONAL_STATUSES,
  type EnvironmentStatus,
  type LifecycleAction,
} from './environment-state.js';
import { EnvironmentsRepository } from './environments.repository.js';
import { LifecycleQueue } from './lifecycle-queue.js';
import { AppConfig } from '../config/app-config.js';

const NOT_TERMINATING = ENVIRONMENT_STATUSES.filter((status) => status !== 'terminating');

function runtimeView(env: EnvironmentEntity): RuntimeEnvironment {
  return { id: env.id, userId: env.userId, name: env.name };
}

function describeFailure(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.slice(0, 2000) || 'unknown runtime failure';
}

/**
 * Environments and their lifecycle (API.md "Environments"). Requests change the status at
 * once with a compare-and-set and answer; the runtime work runs after, one operation at a time
 * per environment, each step persisted, and any failure ends in `error` with `lastError`.
 */
@Injectable()
export class EnvironmentsService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(EnvironmentsService.name);
  private readonly queue = new LifecycleQueue();
  /** What each environment's runtime reports on its own (a pod failing after it ran). */
  private readonly monitors = new Map<string, Subscription>();

  constructor(
    private readonly environments: EnvironmentsRepository,
    private readonly templates: TemplatesService,
    private readonly clusters: ClustersService,
    private readonly runtimes: RuntimeRegistry,
    private readonly events: EnvironmentEvents,
    private readonly plans: PlanLimits,
    private readonly audit: AuditService,
    private readonly config: AppConfig,
  ) {}

  /**
   * Creates an environment from a template and starts it in the background (`creating` →
   * `provisioning` → (`installing` →) `running`). It runs on the named cluster, else on the
   * default cluster, else on the local runtime.
   * @throws DomainException TEMPLATE_NOT_FOUND (404), CLUSTER_NOT_FOUND (404), TEMPLATE_UNAVAILABLE (422), NO_RUNTIME (422), PLAN_LIMIT_REACHED (422), ENVIRONMENT_NAME_TAKEN (409)
   */
  async create(user: AuthUser, input: CreateEnvironmentDto): Promise<EnvironmentDto> {
    const template = await this.templates.getEntity(input.templateId);
    if (template.status !== 'active') throw new DomainException(ErrorCode.TEMPLATE_UNAVAILABLE, `Template ${template.name} is ${template.status}`);
    const cluster = input.clusterId ? await this.clusters.getUsable(user, input.clusterId) : await this.clusters.findDefault();
    if (!cluster && !this.config.LOCAL_RUNTIME_ENABLED) {
      throw new DomainException(ErrorCode.NO_RUNTIME, 'No cluster is available for new environments, and this server does not run them locally');
    }
    const resources = { ...template.resources, ...input.resources };
    await this.assertWithinPlan(user, resources, 1);
    let env: EnvironmentEntity;
    try {
      env = await this.environments.insert({
        userId: user.id,
        name: input.name,
        templateId: template.id,
        clusterId: cluster?.id ?? null,
        runtime: cluster ? 'kubernetes' : 'local',
        resources,
        status: 'creating',
      });
    } catch (error) {
      if (violatedUniqueConstraint(error) === 'uq_environments_user_name') throw this.nameTaken(input.name);
      throw error;
    }
    await this.audit.record({ action: 'environment.created', actorUserId: user.id, targetType: 'environment', targetId: env.id, details: { name: env.name, templateId: template.id } });
    this.publish(env);
    void this.queue.enqueue(env.id, (signal) => this.bringUp(env, signal));
    return toEnvironmentDto(env);
  }

  async list(userId: string, query: ListEnvironmentsQueryDto): Promise<Page<EnvironmentDto>> {
    const [items, total] = await this.environments.listOwned(userId, query);
    return { items: items.map(toEnvironmentDto), total, limit: query.limit, offset: query.offset };
  }

  /** @throws DomainException ENVIRONMENT_NOT_FOUND (404), also for another user's environment */
  async get(userId: string, id: string): Promise<EnvironmentDto> {
    return toEnvironmentDto(await this.getOwned(userId, id));
  }

  /** Records terminal activity on an environment (`lastActivityAt`); callers throttle it. */
  touchActivity(id: string, at: Date): Promise<void> {
    return this.environments.touchActivity(id, at);
  }

  /** The environment row when `userId` owns it. @throws DomainException ENVIRONMENT_NOT_FOUND (404) */
  async getOwned(userId: string, id: string): Promise<EnvironmentEntity> {
    const env = await this.environments.findOwned(userId, id);
    if (!env) throw new DomainException(ErrorCode.ENVIRONMENT_NOT_FOUND, 'Environment not found');
    return env;
  }

  /** @throws DomainException ENVIRONMENT_NOT_FOUND (404), ENVIRONMENT_NAME_TAKEN (409) */
  async rename(userId: string, id: string, name: string): Promise<EnvironmentDto> {
    let renamed: EnvironmentEntity | null;
    try {
      renamed = await this.environments.renameOwned(userId, id, name);
    } catch (error) {
      if (violatedUniqueConstraint(error) === 'uq_environments_user_name') throw this.nameTaken(name);
      throw error;
    }
    if (!renamed) throw new DomainException(ErrorCode.ENVIRONMENT_NOT_FOUND, 'Environment not found');
    return toEnvironmentDto(renamed);
  }

  /**
   * Asks for `start`, `stop` or `restart`: the status changes at once (202) and the runtime work
   * follows in the background.
   * A start also checks the plan's limits again (the plan may have been lowered since).
   * @throws DomainException ENVIRONMENT_NOT_FOUND (404), INVALID_STATE (422) when the status does not allow it, PLAN_LIMIT_REACHED (422)
   */
  async request(user: AuthUser, id: string, action: Exclude<LifecycleAction, 'delete'>): Promise<EnvironmentDto> {
    const env = await this.getOwned(user.id, id);
    const allowed = canPerform(action, env.status);
    if (action === 'start' && allowed) await this.assertWithinPlan(user, env.resources, 0);
    const from = allowedStatuses(action) ?? [];
    const updated = allowed ? await this.environments.transition(env.id, from, statusOnRequest(action)) : null;
    if (!updated) {
      // Refused on the status just read, or it changed under the compare-and-set: read it again only then.
      const current = allowed ? ((await this.environments.findById(env.id))?.status ?? env.status) : env.status;
      throw new DomainException(ErrorCode.INVALID_STATE, `Cannot ${action} an environment that is ${current} (allowed from: ${from.join(', ')})`, [
        { field: 'status', message: `is ${current}` },
      ]);
    }
    this.publish(updated);
    const operation = action === 'stop' ? (signal: AbortSignal) => this.bringDown(updated, signal) : (signal: AbortSignal) => this.bringUp(updated, signal);
    void this.queue.enqueue(env.id, operation);
    return toEnvironmentDto(updated);
  }

  /**
   * Deletes an environment in any state (202): it turns `terminating` at once, what is in flight
   * is cancelled, then the runtime removes everything and the row goes.
   * @throws DomainException ENVIRONMENT_NOT_FOUND (404)
   */
  async remove(userId: string, id: string): Promise<EnvironmentDto> {
    const env = await this.getOwned(userId, id);
    const { env: accepted, started } = await this.terminate(env).accepted;
    if (started) await this.audit.record({ action: 'environment.deleted', actorUserId: userId, targetType: 'environment', targetId: env.id, details: { name: env.name } });
    return toEnvironmentDto(accepted);
  }

  /** How many environments the user has, in all and per status (every status, zeros included). */
  async countByStatus(userId: string): Promise<{ total: number } & Record<EnvironmentStatus, number>> {
    const counts = await this.environments.countOwnedByStatus(userId);
    const byStatus = Object.fromEntries(ENVIRONMENT_STATUSES.map((status) => [status, counts[status] ?? 0])) as Record<EnvironmentStatus, number>;
    return { total: ENVIRONMENT_STATUSES.reduce((sum, status) => sum + byStatus[status], 0), ...byStatus };
  }

  /** Destroys every environment of a user and waits for it (account deletion). */
  async destroyAllOwned(userId: string): Promise<void> {
    const envs = await this.environments.findAllOwned(userId);
    await Promise.all(envs.map((env) => this.terminate(env).done));
  }

  /** The last `tail` lines of the environment's log. @throws DomainException ENVIRONMENT_NOT_FOUND (404) */
  async logs(userId: string, id: string, tail: number): Promise<EnvironmentLogsDto> {
    const env = await this.getOwned(userId, id);
    return { lines: await (await this.runtimeOf(env)).logs(runtimeView(env), { tail }) };
  }

  /**
   * The environment's log: the last `tail` lines, then new lines as they come.
   * @throws DomainException ENVIRONMENT_NOT_FOUND (404)
   */
  async followLogs(userId: string, id: string, tail: number): Promise<Observable<string>> {
    const env = await this.getOwned(userId, id);
    return (await this.runtimeOf(env)).followLogs(runtimeView(env), { tail });
  }

  /** Finishes what a previous server process left in flight, and listens to running environments' runtimes. */
  async onApplicationBootstrap(): Promise<void> {
    const found = await this.environments.findByStatuses(['running', ...TRANSITIONAL_STATUSES]);
    for (const env of found) if (env.status === 'running' || env.status === 'installing') void this.monitor(env);
    for (const env of found.filter((candidate) => TRANSITIONAL_STATUSES.has(candidate.status))) {
      this.logger.log(`resuming ${env.status} of environment ${env.id}`);
      if (env.status === 'terminating') void this.queue.enqueue(env.id, (signal) => this.destroy(env, signal), { preempt: true });
      else if (env.status === 'stopping') void this.queue.enqueue(env.id, (signal) => this.bringDown(env, signal));
      else void this.queue.enqueue(env.id, (signal) => this.bringUp(env, signal));
    }
  }

  /** Lets lifecycle work in flight finish while the database is still open. */
  async beforeApplicationShutdown(): Promise<void> {
    for (const subscription of this.monitors.values()) subscription.unsubscribe();
    this.monitors.clear();
    await this.queue.drain();
  }

  /**
   * Turns `env` `terminating` and queues its destroy, cancelling what is in flight. When it was
   * already terminating (a second delete), the destroy under way is awaited, not started again.
   * `accepted` says whether this call started it.
   */
  private terminate(env: EnvironmentEntity): { accepted: Promise<{ env: EnvironmentEntity; started: boolean }>; done: Promise<void> } {
    const accepted = this.environments.transition(env.id, NOT_TERMINATING, 'terminating').then((updated) => {
      if (updated) this.publish(updated);
      return { env: updated ?? { ...env, status: 'terminating' as const }, started: updated !== null };
    });
    const done = accepted.then(({ started }) =>
      started ? this.queue.enqueue(env.id, (signal) => this.destroy(env, signal), { preempt: true }) : this.queue.enqueue(env.id, async () => undefined),
    );
    return { accepted, done };
  }

  /**
   * provision → start → running, each status recorded. A new environment passes through
   * `provisioning`; a start request is already there; a restart stays `restarting` until running.
   */
  private async bringUp(env: EnvironmentEntity, signal: AbortSignal): Promise<void> {
    try {
      if (env.status === 'creating' && !(await this.step(env, 'provisioning'))) return;
      const runtime = await this.runtimeOf(env);
      const template = await this.templates.getEntity(env.templateId);
      await runtime.provision(runtimeView(env), template, env.resources);
      if (signal.aborted) return;
      await this.monitor(env);
      if (env.status === 'restarting') await runtime.restart(runtimeView(env), { signal });
      else await runtime.start(runtimeView(env), { signal });
      if (signal.aborted) return;
      await this.step(env, 'running', { lastError: null });
    } catch (error) {
      if (!signal.aborted) await this.fail(env, error);
    }
  }

  private async bringDown(env: EnvironmentEntity, signal: AbortSignal): Promise<void> {
    try {
      this.unmonitor(env.id);
      await (await this.runtimeOf(env)).stop(runtimeView(env), { signal });
      if (signal.aborted) return;
      await this.step(env, 'stopped');
    } catch (error) {
      if (!signal.aborted) await this.fail(env, error);
    }
  }

  private async destroy(env: EnvironmentEntity, _signal: AbortSignal): Promise<void> {
    try {
      this.unmonitor(env.id);
      await (await this.runtimeOf(env)).destroy(runtimeView(env));
      await this.environments.delete(env.id);
      this.events.publish({ environmentId: env.id, userId: env.userId, status: 'deleted' });
    } catch (error) {
      await this.fail(env, error);
      throw error;
    }
  }

  /**
   * Moves the environment to `to` when the state machine allows it from its current status;
   * false when it has moved elsewhere meanwhile (e.g. deleted), so the caller stops.
   */
  private async step(env: EnvironmentEntity, to: EnvironmentStatus, fields: { lastError?: string | null } = {}): Promise<boolean> {
    const updated = await this.environments.transition(env.id, predecessorsOf(to), to, fields);
    if (!updated) return false;
    env.status = updated.status;
    this.publish(updated);
    return true;
  }

  private runtimeOf(env: EnvironmentEntity): Promise<EnvironmentRuntime> {
    return this.runtimes.forEnvironment(env);
  }

  /**
   * Follows what the environment's runtime reports on its own: `installing` while a pod runs
   * its startup script, and a failure (a crash loop, an evicted pod) after it was running.
   */
  private async monitor(env: EnvironmentEntity): Promise<void> {
    if (this.monitors.has(env.id)) return;
    const runtime = await this.runtimeOf(env);
    this.monitors.set(
      env.id,
      runtime.observe(runtimeView(env)).subscribe((event) => void this.onRuntimeEvent(env, event)),
    );
  }

  private unmonitor(environmentId: string): void {
    this.monitors.get(environmentId)?.unsubscribe();
    this.monitors.delete(environmentId);
  }

  private async onRuntimeEvent(env: EnvironmentEntity, event: RuntimeStatusEvent): Promise<void> {
    try {
      if (event.state === 'installing') await this.step(env, 'installing');
      else if (event.state === 'error') await this.step(env, 'error', { lastError: event.message ?? 'the runtime reported a failure' });
    } catch (error) {
      this.logger.warn(`could not record a runtime event of environment ${env.id}: ${(error as Error).message}`);
    }
  }

  private async fail(env: EnvironmentEntity, error: unknown): Promise<void> {
    const lastError = describeFailure(error);
    this.logger.warn(`environment ${env.id} failed: ${lastError}`);
    await this.step(env, 'error', { lastError });
  }

  private publish(env: EnvironmentEntity): void {
    this.events.publish({ environmentId: env.id, userId: env.userId, status: env.status });
  }

  /**
   * The user's plan allows `resources` for one environment and its environments (not being
   * deleted) plus `adding` more.
   * @throws DomainException PLAN_LIMIT_REACHED (422)
   */
  private async assertWithinPlan(user: AuthUser, resources: EnvironmentEntity['resources'], adding: number): Promise<void> {
    this.plans.assertResources(user.plan, resources);
    this.plans.assertEnvironmentCount(user.plan, await this.environments.countOwned(user.id, NOT_TERMINATING), adding);
  }

  private nameTaken(name: string): DomainException {
    return new DomainException(ErrorCode.ENVIRONMENT_NAME_TAKEN, `You already have an environment named ${name}`, [
      { field: 'name', message: 'is already used by another of your environments' },
    ]);
  }
}
