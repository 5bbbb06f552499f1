import { Module } from '@nestjs/common';
import { PlanLimits } from './plan-limits.js';

/** Plans and their limits. */
@Module({ providers: [PlanLimits], exports: [PlanLimits] })
export class PlansModule {}
