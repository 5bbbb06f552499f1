import { Injectable } from '@nestjs/common';
import type { AuthUser } from '../auth/auth-user.js';
import { AuthService } from '../auth/auth.service.js';
import { AuditService } from '../audit/audit.service.js';
import { DomainException, ErrorCode } from '../common/domain.exception.js';
import type { Page } from '../common/validation.js';
import { toAdminUserDto, type AdminUserDto, type ListUsersQueryDto, type UpdateUserDto } from './dto/admin-user.dto.js';
import type { UserEntity } from './user.entity.js';
import { UsersRepository } from './users.repository.js';

/** Accounts as admins manage them: list, role, plan, deactivation. */
@Injectable()
export class AdminUsersService {
  constructor(
    private readonly users: UsersRepository,
    private readonly auth: AuthService,
    private readonly audit: AuditService,
  ) {}

  async list(query: ListUsersQueryDto): Promise<Page<AdminUserDto>> {
    const [items, total] = await this.users.list(query);
    return { items: items.map(toAdminUserDto), total, limit: query.limit, offset: query.offset };
  }

  /** @throws DomainException USER_NOT_FOUND (404) */
  async get(id: string): Promise<AdminUserDto> {
    return toAdminUserDto(await this.getEntity(id));
  }

  /**
   * Changes an account's role, plan or activity, each change audited. Deactivating revokes
   * every session at once (refresh tokens; access tokens and keys fail on the inactive account).
   * @throws DomainException USER_NOT_FOUND (404), CANNOT_CHANGE_SELF (422) when an admin would demote or deactivate themself
   */
  async update(admin: AuthUser, id: string, changes: UpdateUserDto): Promise<AdminUserDto> {
    const user = await this.getEntity(id);
    if (id === admin.id && ((changes.role !== undefined && changes.role !== 'admin') || changes.active === false)) {
      throw new DomainException(ErrorCode.CANNOT_CHANGE_SELF, 'An admin cannot demote or deactivate their own account; ask another admin');
    }
    const role = changes.role !== undefined && changes.role !== user.role ? changes.role : undefined;
    const plan = changes.plan !== undefined && changes.plan !== user.plan ? changes.plan : undefined;
    const active = changes.active !== undefined && changes.active !== user.active ? changes.active : undefined;
    if (role === undefined && plan === undefined && active === undefined) return toAdminUserDto(user);
    await this.users.update(id, { role, plan, active });
    if (active === false) await this.auth.logoutAll(id);
    const event = { actorUserId: admin.id, targetType: 'user' as const, targetId: id };
    if (role !== undefined) await this.audit.record({ ...event, action: 'user.role_changed', details: { from: user.role, to: role } });
    if (plan !== undefined) await this.audit.record({ ...event, action: 'user.plan_changed', details: { from: user.plan, to: plan } });
    if (active !== undefined) await this.audit.record({ ...event, action: active ? 'user.reactivated' : 'user.deactivated' });
    return this.get(id);
  }

  private async getEntity(id: string): Promise<UserEntity> {
    const user = await this.users.findById(id);
    if (!user) throw new DomainException(ErrorCode.USER_NOT_FOUND, 'User not found');
    return user;
  }
}
