import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Post, Query } from '@nestjs/common';
import { ApiBadRequestResponse, ApiCreatedResponse, ApiNoContentResponse, ApiNotFoundResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import type { AuthUser } from '../auth/auth-user.js';
import { Authenticated, CurrentUser, RequireScopes } from '../auth/authenticated.decorator.js';
import { ApiUuidParam, pageDtoOf, PageQueryDto, UuidParam, type Page } from '../common/validation.js';
import { CreatedShareLinkDto, CreateShareLinkDto, ShareLinkDto } from './dto/share-link.dto.js';
import { SharesService } from './shares.service.js';

const ShareLinkPageDto = pageDtoOf(ShareLinkDto, 'ShareLinkPageDto');

/** Share links of the terminal of one of the caller's environments (API.md "Share links"). */
@ApiTags('shares')
@Authenticated()
@ApiBadRequestResponse({ description: 'Invalid input or id' })
@Controller('environments')
export class SharesController {
  constructor(private readonly shares: SharesService) {}

  @Post(':id/shares')
  @RequireScopes('environments:write')
  @ApiUuidParam()
  @ApiCreatedResponse({ type: CreatedShareLinkDto, description: 'The link; its `token` is shown this once' })
  @ApiNotFoundResponse({ description: 'No such environment of yours' })
  create(@CurrentUser() user: AuthUser, @UuidParam() id: string, @Body() body: CreateShareLinkDto): Promise<CreatedShareLinkDto> {
    return this.shares.create(user, id, body);
  }

  @Get(':id/shares')
  @RequireScopes('environments:read')
  @ApiUuidParam()
  @ApiOkResponse({ type: ShareLinkPageDto, description: 'Newest first, revoked and expired links included' })
  @ApiNotFoundResponse({ description: 'No such environment of yours' })
  list(@CurrentUser() user: AuthUser, @UuidParam() id: string, @Query() query: PageQueryDto): Promise<Page<ShareLinkDto>> {
    return this.shares.list(user.id, id, query);
  }

  @Delete(':id/shares/:shareId')
  @RequireScopes('environments:write')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiUuidParam()
  @ApiUuidParam('shareId')
  @ApiNoContentResponse({ description: 'Revoked (or already revoked): the token stops working and guest terminals end' })
  @ApiNotFoundResponse({ description: 'ENVIRONMENT_NOT_FOUND: no such environment of yours; SHARE_NOT_FOUND: no such link of this environment' })
  revoke(@CurrentUser() user: AuthUser, @UuidParam() id: string, @UuidParam('shareId') shareId: string): Promise<void> {
    return this.shares.revoke(user.id, id, shareId);
  }
}
