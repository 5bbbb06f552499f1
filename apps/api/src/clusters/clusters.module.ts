import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ClusterConnections } from './cluster-connections.js';
import { ClusterEntity, UserClusterAccessEntity } from './cluster.entity.js';
import { ClustersController } from './clusters.controller.js';
import { ClustersRepository } from './clusters.repository.js';
import { ClustersService } from './clusters.service.js';

@Module({
  imports: [TypeOrmModule.forFeature([ClusterEntity, UserClusterAccessEntity])],
  controllers: [ClustersController],
  providers: [ClustersRepository, ClustersService, ClusterConnections],
  exports: [ClustersService, ClusterConnections],
})
export class ClustersModule {}
