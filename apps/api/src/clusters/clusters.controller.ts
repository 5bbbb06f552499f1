import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Patch, Post, Query } from '@nestjs/common';
import { ApiBadRequestResponse, ApiConflictResponse, ApiCreatedResponse, ApiNoContentResponse, ApiNotFoundResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import type { AuthUser } from '../auth/auth-user.js';
import { Authenticated, CurrentUser } from '../auth/authenticated.decorator.js';
import { ApiUuidParam, pageDtoOf, PageQueryDto, UuidParam, type Page } from '../common/validation.js';
import { ClustersService } from './clusters.service.js';
import { ClusterDto, ClusterHealthDto, RegionsDto, RegisterClusterDto, UpdateClusterDto } from './dto/cluster.dto.js';

const ClusterPageDto = pageDtoOf(ClusterDto, 'ClusterPageDto');

@ApiTags('clusters')
@ApiBadRequestResponse({ description: 'Invalid input or id' })
@Controller('clusters')
export class ClustersController {
  constructor(private readonly clusters: ClustersService) {}

  @Post()
  @Authenticated({ admin: true })
  @ApiCreatedResponse({ type: ClusterDto })
  @ApiConflictResponse({ description: 'A cluster with this name exists' })
  register(@CurrentUser() user: AuthUser, @Body() body: RegisterClusterDto): Promise<ClusterDto> {
    return this.clusters.register(body, user.id);
  }

  @Get()
  @Authenticated()
  @ApiOkResponse({ type: ClusterPageDto, description: 'Admins: every cluster; users: the default one and those granted to them' })
  list(@CurrentUser() user: AuthUser, @Query() page: PageQueryDto): Promise<Page<ClusterDto>> {
    return this.clusters.list(user, page);
  }

  @Get('regions')
  @Authenticated()
  @ApiOkResponse({ type: RegionsDto })
  regions(): Promise<RegionsDto> {
    return this.clusters.regions();
  }

  @Get(':id')
  @Authenticated()
  @ApiUuidParam()
  @ApiOkResponse({ type: ClusterDto })
  @ApiNotFoundResponse({ description: 'No such cluster usable by you' })
  get(@CurrentUser() user: AuthUser, @UuidParam() id: string): Promise<ClusterDto> {
    return this.clusters.get(user, id);
  }

  @Get(':id/health')
  @Authenticated()
  @ApiUuidParam()
  @ApiOkResponse({ type: ClusterHealthDto, description: 'The outcome of the last check' })
  @ApiNotFoundResponse({ description: 'No such cluster usable by you' })
  health(@CurrentUser() user: AuthUser, @UuidParam() id: string): Promise<ClusterHealthDto> {
    return this.clusters.health(user, id);
  }

  @Patch(':id')
  @Authenticated({ admin: true })
  @ApiUuidParam()
  @ApiOkResponse({ type: ClusterDto })
  @ApiNotFoundResponse({ description: 'No such cluster' })
  @ApiConflictResponse({ description: 'A cluster with this name exists' })
  update(@UuidParam() id: string, @Body() body: UpdateClusterDto): Promise<ClusterDto> {
    return this.clusters.update(id, body);
  }

  @Delete(':id')
  @Authenticated({ admin: true })
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiUuidParam()
  @ApiNoContentResponse({ description: 'Removed' })
  @ApiNotFoundResponse({ description: 'No such cluster' })
  @ApiConflictResponse({ description: 'Environments still run on it' })
  remove(@UuidParam() id: string): Promise<void> {
    return this.clusters.remove(id);
  }

  @Post(':id/verify')
  @Authenticated({ admin: true })
  @HttpCode(HttpStatus.OK)
  @ApiUuidParam()
  @ApiOkResponse({ type: ClusterHealthDto })
  @ApiNotFoundResponse({ description: 'No such cluster' })
  verify(@UuidParam() id: string): Promise<ClusterHealthDto> {
    return this.clusters.verify(id);
  }

  @Post(':id/access/:userId')
  @Authenticated({ admin: true })
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiUuidParam()
  @ApiUuidParam('userId')
  @ApiNoContentResponse({ description: 'The user may use the cluster' })
  @ApiNotFoundResponse({ description: 'No such cluster or user' })
  grant(@UuidParam() id: string, @UuidParam('userId') userId: string): Promise<void> {
    return this.clusters.grant(id, userId);
  }

  @Delete(':id/access/:userId')
  @Authenticated({ admin: true })
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiUuidParam()
  @ApiUuidParam('userId')
  @ApiNoContentResponse({ description: 'The grant is removed' })
  @ApiNotFoundResponse({ description: 'No such cluster' })
  revoke(@UuidParam() id: string, @UuidParam('userId') userId: string): Promise<void> {
    return this.clusters.revoke(id, userId);
  }
}
