import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Patch, Post } from '@nestjs/common';
import { ApiNoContentResponse, ApiOkResponse, ApiTags, ApiUnprocessableEntityResponse } from '@nestjs/swagger';
import type { AuthUser } from '../auth/auth-user.js';
import { Authenticated, CurrentUser } from '../auth/authenticated.decorator.js';
import { ChangePasswordDto, UserStatsDto } from './dto/me.dto.js';
import { UpdateMeDto, UserDto } from './dto/user.dto.js';
import { UsersService } from './users.service.js';

@ApiTags('users')
@Authenticated()
@Controller('users')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Get('me')
  @ApiOkResponse({ type: UserDto })
  getMe(@CurrentUser() user: AuthUser): Promise<UserDto> {
    return this.users.getMe(user.id);
  }

  @Patch('me')
  @ApiOkResponse({ type: UserDto })
  updateMe(@CurrentUser() user: AuthUser, @Body() body: UpdateMeDto): Promise<UserDto> {
    return this.users.updateMe(user.id, body);
  }

  @Post('me/password')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiNoContentResponse({ description: 'Password changed; every session of the account, this one included, is revoked: sign in again' })
  @ApiUnprocessableEntityResponse({ description: 'WRONG_PASSWORD: the current password does not match' })
  changePassword(@CurrentUser() user: AuthUser, @Body() body: ChangePasswordDto): Promise<void> {
    return this.users.changePassword(user.id, body);
  }

  @Get('me/stats')
  @ApiOkResponse({ type: UserStatsDto })
  stats(@CurrentUser() user: AuthUser): Promise<UserStatsDto> {
    return this.users.stats(user);
  }

  @Delete('me')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiNoContentResponse({ description: 'The account, its environments and sessions are deleted' })
  deleteMe(@CurrentUser() user: AuthUser): Promise<void> {
    return this.users.deleteMe(user.id);
  }
}
