import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { EnvironmentsModule } from '../environments/environments.module.js';
import { SharesModule } from '../shares/shares.module.js';
import { TerminalSessionEntity } from './terminal-session.entity.js';
import { TerminalSessionsController } from './terminal-sessions.controller.js';
import { TerminalSessionsRepository } from './terminal-sessions.repository.js';
import { TerminalWsGateway } from './terminal-ws.gateway.js';
import { TerminalGateway } from './terminal.gateway.js';
import { TerminalService } from './terminal.service.js';

@Module({
  imports: [EnvironmentsModule, SharesModule, TypeOrmModule.forFeature([TerminalSessionEntity])],
  controllers: [TerminalSessionsController],
  providers: [TerminalService, TerminalSessionsRepository, TerminalGateway, TerminalWsGateway],
})
export class TerminalModule {}
