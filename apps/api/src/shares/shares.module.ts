import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { EnvironmentsModule } from '../environments/environments.module.js';
import { ShareLinkEntity } from './share-link.entity.js';
import { SharesController } from './shares.controller.js';
import { SharesRepository } from './shares.repository.js';
import { SharesService } from './shares.service.js';

/** Share links: their management under /environments/:id/shares, and guest authentication for the terminal gateways. */
@Module({
  imports: [TypeOrmModule.forFeature([ShareLinkEntity]), EnvironmentsModule],
  controllers: [SharesController],
  providers: [SharesRepository, SharesService],
  exports: [SharesService],
})
export class SharesModule {}
