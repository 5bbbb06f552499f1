import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ClustersModule } from '../clusters/clusters.module.js';
import { PlansModule } from '../plans/plans.module.js';
import { TemplatesModule } from '../templates/templates.module.js';
import { EnvironmentEvents } from './environment-events.js';
import { EnvironmentEntity } from './environment.entity.js';
import { EnvironmentsController } from './environments.controller.js';
import { EnvironmentsRepository } from './environments.repository.js';
import { EnvironmentsService } from './environments.service.js';

@Module({
  imports: [TypeOrmModule.forFeature([EnvironmentEntity]), TemplatesModule, ClustersModule, PlansModule],
  controllers: [EnvironmentsController],
  providers: [EnvironmentsRepository, EnvironmentsService, EnvironmentEvents],
  exports: [EnvironmentsService, EnvironmentEvents],
})
export class EnvironmentsModule {}
