import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Patch, Post, Query } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiTags,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import type { AuthUser } from '../auth/auth-user.js';
import { Authenticated, CurrentUser, RequireScopes } from '../auth/authenticated.decorator.js';
import { ApiUuidParam, pageDtoOf, UuidParam, type Page } from '../common/validation.js';
import {
  CreateEnvironmentDto,
  EnvironmentDto,
  EnvironmentLogsDto,
  ListEnvironmentsQueryDto,
  LogsQueryDto,
  RenameEnvironmentDto,
} from './dto/environment.dto.js';
import { EnvironmentsService } from './environments.service.js';

const EnvironmentPageDto = pageDtoOf(EnvironmentDto, 'EnvironmentPageDto');

@ApiTags('environments')
@Authenticated()
@ApiBadRequestResponse({ description: 'Invalid input or id' })
@Controller('environments')
export class EnvironmentsController {
  constructor(private readonly environments: EnvironmentsService) {}

  @Post()
  @RequireScopes('environments:write')
  @ApiCreatedResponse({ type: EnvironmentDto })
  @ApiNotFoundResponse({ description: 'No such template' })
  @ApiConflictResponse({ description: 'You already have an environment with this name' })
  @ApiUnprocessableEntityResponse({ description: 'Template not available, or a plan limit reached' })
  create(@CurrentUser() user: AuthUser, @Body() body: CreateEnvironmentDto): Promise<EnvironmentDto> {
    return this.environments.create(user, body);
  }

  @Get()
  @RequireScopes('environments:read')
  @ApiOkResponse({ type: EnvironmentPageDto })
  list(@CurrentUser() user: AuthUser, @Query() query: ListEnvironmentsQueryDto): Promise<Page<EnvironmentDto>> {
    return this.environments.list(user.id, query);
  }

  @Get(':id')
  @RequireScopes('environments:read')
  @ApiUuidParam()
  @ApiOkResponse({ type: EnvironmentDto })
  @ApiNotFoundResponse({ description: 'No such environment of yours' })
  get(@CurrentUser() user: AuthUser, @UuidParam() id: string): Promise<EnvironmentDto> {
    return this.environments.get(user.id, id);
  }

  @Patch(':id')
  @RequireScopes('environments:write')
  @ApiUuidParam()
  @ApiOkResponse({ type: EnvironmentDto })
  @ApiNotFoundResponse({ description: 'No such environment of yours' })
  @ApiConflictResponse({ description: 'You already have an environment with this name' })
  rename(@CurrentUser() user: AuthUser, @UuidParam() id: string, @Body() body: RenameEnvironmentDto): Promise<EnvironmentDto> {
    return this.environments.rename(user.id, id, body.name);
  }

  @Delete(':id')
  @RequireScopes('environments:write')
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiUuidParam()
  @ApiAcceptedResponse({ type: EnvironmentDto, description: 'Deletion started; the environment is `terminating`' })
  @ApiNotFoundResponse({ description: 'No such environment of yours' })
  remove(@CurrentUser() user: AuthUser, @UuidParam() id: string): Promise<EnvironmentDto> {
    return this.environments.remove(user.id, id);
  }

  @Post(':id/start')
  @RequireScopes('environments:write')
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiUuidParam()
  @ApiAcceptedResponse({ type: EnvironmentDto })
  @ApiNotFoundResponse({ description: 'No such environment of yours' })
  @ApiUnprocessableEntityResponse({ description: 'INVALID_STATE: only from stopped or error; PLAN_LIMIT_REACHED' })
  start(@CurrentUser() user: AuthUser, @UuidParam() id: string): Promise<EnvironmentDto> {
    return this.environments.request(user, id, 'start');
  }

  @Post(':id/stop')
  @RequireScopes('environments:write')
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiUuidParam()
  @ApiAcceptedResponse({ type: EnvironmentDto })
  @ApiNotFoundResponse({ description: 'No such environment of yours' })
  @ApiUnprocessableEntityResponse({ description: 'INVALID_STATE: only from running or installing' })
  stop(@CurrentUser() user: AuthUser, @UuidParam() id: string): Promise<EnvironmentDto> {
    return this.environments.request(user, id, 'stop');
  }

  @Post(':id/restart')
  @RequireScopes('environments:write')
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiUuidParam()
  @ApiAcceptedResponse({ type: EnvironmentDto })
  @ApiNotFoundResponse({ description: 'No such environment of yours' })
  @ApiUnprocessableEntityResponse({ description: 'INVALID_STATE: only from running' })
  restart(@CurrentUser() user: AuthUser, @UuidParam() id: string): Promise<EnvironmentDto> {
    return this.environments.request(user, id, 'restart');
  }

  @Get(':id/logs')
  @RequireScopes('environments:read')
  @ApiUuidParam()
  @ApiOkResponse({ type: EnvironmentLogsDto })
  @ApiNotFoundResponse({ description: 'No such environment of yours' })
  logs(@CurrentUser() user: AuthUser, @UuidParam() id: string, @Query() query: LogsQueryDto): Promise<EnvironmentLogsDto> {
    return this.environments.logs(user.id, id, query.tail);
  }
}
