import type { AuthUser } from '../auth/auth-user.js';
import { Injectable } from '@nestjs/common';
import { AuthService } from '../auth/auth.service.js';
import { PasswordHasher } from '../auth/password-hasher.js';
import { DomainException, ErrorCode } from '../common/domain.exception.js';
import { violatedUniqueConstraint } from '../common/postgres-errors.js';
import { EnvironmentsService } from '../environments/environments.service.js';
import { PlanLimits } from '../plans/plan-limits.js';
import type { ChangePasswordDto, UserStatsDto } from './dto/me.dto.js';
import { toUserDto, type UpdateMeDto, type UserDto } from './dto/user.dto.js';
import { UsersRepository } from './users.repository.js';

/** The signed-in user's own account. */
@Injectable()
export class UsersService {
  constructor(
    private readonly users: UsersRepository,
    private readonly environments: EnvironmentsService,
    private readonly hasher: PasswordHasher,
    private readonly auth: AuthService,
    private readonly plans: PlanLimits,
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

  /**
   * Replaces the password after checking the current one, then revokes every session of the
   * account, the caller's included (refresh tokens and access tokens): it signs in again.
   * @throws DomainException WRONG_PASSWORD (422) when `currentPassword` is wrong or the account has no password (Google only)
   */
  async changePassword(userId: string, input: ChangePasswordDto): Promise<void> {
    const user = await this.users.findById(userId);
    if (!user) throw new DomainException(ErrorCode.USER_NOT_FOUND, 'Account not found');
    if (!user.passwordHash || !(await this.hasher.verify(user.passwordHash, input.currentPassword))) {
      throw new DomainException(ErrorCode.WRONG_PASSWORD, user.passwordHash ? 'The current password is wrong' : 'This account has no password: it signs in with Google', [
        { field: 'currentPassword', message: 'does not match' },
      ]);
    }
    await this.users.update(userId, { passwordHash: await this.hasher.hash(input.newPassword) });
    await this.auth.logoutAll(userId);
  }

  /** The user's environments by status, terminal use, and the plan's limits. */
  async stats(user: AuthUser): Promise<UserStatsDto> {
    // The plan as the guard loaded it with the account, for this request.
    const limits = this.plans.of(user.plan);
    const [environments, terminal] = await Promise.all([this.environments.countByStatus(user.id), this.users.terminalUsage(user.id)]);
    return { environments, terminal, plan: { name: user.plan, maxEnvironments: limits.maxEnvironments, maxResources: { ...limits.maxResources } } };
  }

  /** Deletes the account: its environments are destroyed first (shells, files), then the row and its tokens. */
  async deleteMe(userId: string): Promise<void> {
    await this.environments.destroyAllOwned(userId);
    await this.users.delete(userId);
  }
}
