import { Module } from '@nestjs/common';
import { EnvironmentsModule } from '../environments/environments.module.js';
import { TerminalWsGateway } from './terminal-ws.gateway.js';
import { TerminalGateway } from './terminal.gateway.js';
import { TerminalService } from './terminal.service.js';

@Module({
  imports: [EnvironmentsModule],
  providers: [TerminalService, TerminalGateway, TerminalWsGateway],
})
export class TerminalModule {}
