import { Controller, Delete, Get, HttpCode, HttpStatus, Query } from '@nestjs/common';
import { ApiNoContentResponse, ApiNotFoundResponse, ApiOkResponse, ApiProperty, ApiTags } from '@nestjs/swagger';
import type { AuthUser } from '../auth/auth-user.js';
import { Authenticated, CurrentUser, RequireScopes } from '../auth/authenticated.decorator.js';
import { ApiUuidParam, pageDtoOf, PageQueryDto, UuidParam, type Page } from '../common/validation.js';
import { TerminalService, type TerminalSessionView } from './terminal.service.js';

/** A terminal session of an environment, as listed. */
export class TerminalSessionDto implements TerminalSessionView {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ enum: ['socket.io', 'websocket'] }) transport: 'socket.io' | 'websocket';
  @ApiProperty({ type: String, nullable: true, description: "The socket's user agent (200 characters at most)" }) client: string | null;
  @ApiProperty() readOnly: boolean;
  @ApiProperty({ type: String, format: 'uuid', nullable: true, description: 'The share link a guest attached with; null for the owner' }) shareId: string | null;
  @ApiProperty({ format: 'date-time' }) startedAt: string;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) endedAt: string | null;
  @ApiProperty({ type: String, nullable: true }) endReason: string | null;
  @ApiProperty({ description: 'Input bytes written to the terminal' }) bytesIn: number;
  @ApiProperty({ description: 'Output bytes sent to clients' }) bytesOut: number;
  @ApiProperty({ description: 'Still held by this server (attached, or kept for a resume)' }) live: boolean;
}

const TerminalSessionPageDto = pageDtoOf(TerminalSessionDto, 'TerminalSessionPageDto');

@ApiTags('environments')
@Authenticated()
@Controller('environments')
export class TerminalSessionsController {
  constructor(private readonly terminals: TerminalService) {}

  @Get(':id/terminal-sessions')
  @RequireScopes('environments:read')
  @ApiUuidParam()
  @ApiOkResponse({ type: TerminalSessionPageDto })
  @ApiNotFoundResponse({ description: 'No such environment of yours' })
  list(@CurrentUser() user: AuthUser, @UuidParam() id: string, @Query() query: PageQueryDto): Promise<Page<TerminalSessionView>> {
    return this.terminals.listSessions(user, id, { limit: query.limit, offset: query.offset });
  }

  @Delete(':id/terminal-sessions/:sessionId')
  @RequireScopes('terminal')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiUuidParam()
  @ApiUuidParam('sessionId')
  @ApiNoContentResponse({ description: 'Ended: its client got `exit {reason: "session_killed"}`' })
  @ApiNotFoundResponse({ description: 'No such environment of yours, or no such session' })
  async kill(@CurrentUser() user: AuthUser, @UuidParam() id: string, @UuidParam('sessionId') sessionId: string): Promise<void> {
    await this.terminals.killSession(user, id, sessionId);
  }
}
