import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Post, Query } from '@nestjs/common';
import { ApiBadRequestResponse, ApiCreatedResponse, ApiForbiddenResponse, ApiNoContentResponse, ApiNotFoundResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import type { AuthUser } from '../auth/auth-user.js';
import { Authenticated, CurrentUser } from '../auth/authenticated.decorator.js';
import { ApiUuidParam, pageDtoOf, PageQueryDto, UuidParam, type Page } from '../common/validation.js';
import { ApiKeysService } from './api-keys.service.js';
import { ApiKeyDto, CreateApiKeyDto, CreatedApiKeyDto } from './dto/api-key.dto.js';

const ApiKeyPageDto = pageDtoOf(ApiKeyDto, 'ApiKeyPageDto');

/** The signed-in user's API keys. Sessions only: no scope is named, so a key cannot manage (or mint) keys. */
@ApiTags('api-keys')
@Authenticated()
@ApiForbiddenResponse({ description: 'Called with an API key: keys are managed from a signed-in session' })
@ApiBadRequestResponse({ description: 'Invalid input or id' })
@Controller('users/me/api-keys')
export class ApiKeysController {
  constructor(private readonly apiKeys: ApiKeysService) {}

  @Post()
  @ApiCreatedResponse({ type: CreatedApiKeyDto, description: 'The key; its secret `key` is shown this once' })
  create(@CurrentUser() user: AuthUser, @Body() body: CreateApiKeyDto): Promise<CreatedApiKeyDto> {
    return this.apiKeys.create(user, body);
  }

  @Get()
  @ApiOkResponse({ type: ApiKeyPageDto })
  list(@CurrentUser() user: AuthUser, @Query() query: PageQueryDto): Promise<Page<ApiKeyDto>> {
    return this.apiKeys.list(user.id, query);
  }

  @Delete(':id')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiUuidParam()
  @ApiNoContentResponse({ description: 'Revoked: the key stops working at once' })
  @ApiNotFoundResponse({ description: 'No such key of yours' })
  revoke(@CurrentUser() user: AuthUser, @UuidParam() id: string): Promise<void> {
    return this.apiKeys.revoke(user.id, id);
  }
}
