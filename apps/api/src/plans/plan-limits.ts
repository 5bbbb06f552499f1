import { Injectable } from '@nestjs/common';
import { toBytes, toMillicores, type ResourceQuantities } from '@devpocket/runtime';
import { DomainException, ErrorCode } from '../common/domain.exception.js';
import { AppConfig } from '../config/app-config.js';
import type { Plan } from '../users/user.entity.js';

/** What a plan allows: environments a user may have, and the largest resources of one. */
export interface PlanLimit {
  maxEnvironments: number;
  maxResources: ResourceQuantities;
}

const RESOURCE_PARTS = ['cpu', 'memory', 'storage'] as const;

/**
 * The limits of the plans `free`, `starter`, `pro` and `enterprise`, from configuration
 * (`<PLAN>_MAX_ENVIRONMENTS`, `<PLAN>_MAX_CPU|MEMORY|STORAGE`). Breaking one is 422
 * PLAN_LIMIT_REACHED naming the limit in the message and in `details`.
 */
@Injectable()
export class PlanLimits {
  private readonly limits: Record<Plan, PlanLimit>;

  constructor(config: AppConfig) {
    const of = (maxEnvironments: number, cpu: string, memory: string, storage: string): PlanLimit => ({ maxEnvironments, maxResources: { cpu, memory, storage } });
    this.limits = {
      free: of(config.FREE_MAX_ENVIRONMENTS, config.FREE_MAX_CPU, config.FREE_MAX_MEMORY, config.FREE_MAX_STORAGE),
      starter: of(config.STARTER_MAX_ENVIRONMENTS, config.STARTER_MAX_CPU, config.STARTER_MAX_MEMORY, config.STARTER_MAX_STORAGE),
      pro: of(config.PRO_MAX_ENVIRONMENTS, config.PRO_MAX_CPU, config.PRO_MAX_MEMORY, config.PRO_MAX_STORAGE),
      enterprise: of(config.ENTERPRISE_MAX_ENVIRONMENTS, config.ENTERPRISE_MAX_CPU, config.ENTERPRISE_MAX_MEMORY, config.ENTERPRISE_MAX_STORAGE),
    };
  }

  of(plan: Plan): PlanLimit {
    return this.limits[plan];
  }

  /**
   * Checks that a user of `plan` who has `existing` environments may have `existing + adding`.
   * @throws DomainException PLAN_LIMIT_REACHED (422)
   */
  assertEnvironmentCount(plan: Plan, existing: number, adding: number): void {
    const max = this.limits[plan].maxEnvironments;
    if (existing + adding <= max) return;
    throw new DomainException(
      ErrorCode.PLAN_LIMIT_REACHED,
      `The ${plan} plan allows ${max} environment${max === 1 ? '' : 's'} (you have ${existing}): delete one or change plan`,
      [{ field: 'environments', message: `limit ${max} on the ${plan} plan` }],
    );
  }

  /**
   * Checks that each of `resources` (Kubernetes quantities) is within the plan's caps.
   * @throws DomainException PLAN_LIMIT_REACHED (422) naming each part over its cap
   */
  assertResources(plan: Plan, resources: ResourceQuantities): void {
    const caps = this.limits[plan].maxResources;
    const over = RESOURCE_PARTS.filter((part) => {
      const measure = part === 'cpu' ? toMillicores : toBytes;
      return measure(resources[part]) > measure(caps[part]);
    });
    if (over.length === 0) return;
    const text = over.map((part) => `${part} ${resources[part]} is over ${caps[part]}`).join(', ');
    throw new DomainException(
      ErrorCode.PLAN_LIMIT_REACHED,
      `Resources above the ${plan} plan's limits: ${text}`,
      over.map((part) => ({ field: `resources.${part}`, message: `limit ${caps[part]} on the ${plan} plan` })),
    );
  }
}
