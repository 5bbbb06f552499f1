import { Injectable } from '@nestjs/common';
import { DomainException, ErrorCode } from '../common/domain.exception.js';
import { violatedUniqueConstraint } from '../common/postgres-errors.js';
import { EnvironmentsService } from '../environments/environments.service.js';
import { toUserDto, type UpdateMeDto, type UserDto } from './dto/user.dto.js';
import { UsersRepository } from './users.repository.js';

/** The signed-in user's own account. */
@Injectable()
export class UsersService {
  constructor(
    private readonly users: UsersRepository,
    private readonly environments: EnvironmentsService,
  ) {}

  /** @throws DomainException USER_NOT_FOUND (404) when the account is gone */
  async getMe(userId: string): Promise<UserDto> {
    const user = await this.users.findById(userId);
    if (!user) throw new DomainException(ErrorCode.USER_NOT_FOUND, 'Account not found');
    return toUserDto(user);
  }

  /** @throws DomainException USERNAME_TAKEN (409) */
  async updateMe(userId: string, changes: UpdateMeDto): Promise<UserDto> {
    try {
      await this.users.update(userId, { username: changes.username, fullName: changes.fullName });
    } catch (error) {
      if (violatedUniqueConstraint(error) === 'uq_users_username') throw new DomainException(ErrorCode.USERNAME_TAKEN, 'This username is taken');
      throw error;
    }
    return this.getMe(userId);
  }

  /** Deletes the account: its environments are destroyed first (shells, files), then the row and its tokens. */
  async deleteMe(userId: string): Promise<void> {
    await this.environments.destroyAllOwned(userId);
    await this.users.delete(userId);
  }
}
