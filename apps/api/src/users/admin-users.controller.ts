import { Body, Controller, Get, Patch, Query } from '@nestjs/common';
import { ApiBadRequestResponse, ApiNotFoundResponse, ApiOkResponse, ApiTags, ApiUnprocessableEntityResponse } from '@nestjs/swagger';
import type { AuthUser } from '../auth/auth-user.js';
import { Authenticated, CurrentUser } from '../auth/authenticated.decorator.js';
import { ApiUuidParam, pageDtoOf, UuidParam, type Page } from '../common/validation.js';
import { AdminUsersService } from './admin-users.service.js';
import { AdminUserDto, ListUsersQueryDto, UpdateUserDto } from './dto/admin-user.dto.js';

const AdminUserPageDto = pageDtoOf(AdminUserDto, 'AdminUserPageDto');

/** Admin routes over every account. Registered after UsersController, so `/users/me` is never taken for an id. */
@ApiTags('users')
@Authenticated({ admin: true })
@ApiBadRequestResponse({ description: 'Invalid input or id' })
@Controller('users')
export class AdminUsersController {
  constructor(private readonly users: AdminUsersService) {}

  @Get()
  @ApiOkResponse({ type: AdminUserPageDto })
  list(@Query() query: ListUsersQueryDto): Promise<Page<AdminUserDto>> {
    return this.users.list(query);
  }

  @Get(':id')
  @ApiUuidParam()
  @ApiOkResponse({ type: AdminUserDto })
  @ApiNotFoundResponse({ description: 'No such user' })
  get(@UuidParam() id: string): Promise<AdminUserDto> {
    return this.users.get(id);
  }

  @Patch(':id')
  @ApiUuidParam()
  @ApiOkResponse({ type: AdminUserDto })
  @ApiNotFoundResponse({ description: 'No such user' })
  @ApiUnprocessableEntityResponse({ description: 'CANNOT_CHANGE_SELF: an admin demoting or deactivating themself' })
  update(@CurrentUser() admin: AuthUser, @UuidParam() id: string, @Body() body: UpdateUserDto): Promise<AdminUserDto> {
    return this.users.update(admin, id, body);
  }
}
