import { Injectable } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { DataSource, Repository } from 'typeorm';
import { UserEntity, type Role } from './user.entity.js';

/** What registration stores of a new account. */
export interface NewUser {
  email: string;
  username: string;
  passwordHash: string | null;
  fullName: string | null;
  /** Whether the account is an admin regardless of being first (ADMIN_EMAILS). */
  admin: boolean;
}

/** Persistence of accounts (`users`). */
@Injectable()
export class UsersRepository {
  constructor(
    @InjectRepository(UserEntity) private readonly users: Repository<UserEntity>,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  findById(id: string): Promise<UserEntity | null> {
    return this.users.findOneBy({ id });
  }

  /** Finds by lower-case email or username. */
  findByLogin(login: { email?: string; username?: string }): Promise<UserEntity | null> {
    if (login.email) return this.users.findOneBy({ email: login.email });
    if (login.username) return this.users.findOneBy({ username: login.username });
    return Promise.resolve(null);
  }

  /**
   * Inserts an account; the very first account of an install becomes an admin. The count and
   * the insert run under one transaction-scoped advisory lock, so two simultaneous first
   * registrations cannot both become admins.
   *
   * @throws QueryFailedError on a unique violation of email or username (SQLSTATE 23505)
   */
  async createUser(user: NewUser): Promise<UserEntity> {
    return this.dataSource.transaction(async (manager) => {
      await manager.query(`SELECT pg_advisory_xact_lock(hashtext('devpocket:first-admin'))`);
      const first = (await manager.count(UserEntity)) === 0;
      const role: Role = first || user.admin ? 'admin' : 'user';
      const entity = manager.create(UserEntity, {
        email: user.email,
        username: user.username,
        passwordHash: user.passwordHash,
        fullName: user.fullName,
        role,
      });
      return manager.save(entity);
    });
  }

  async update(id: string, changes: Partial<Pick<UserEntity, 'username' | 'fullName' | 'role' | 'plan' | 'active' | 'passwordHash'>>): Promise<void> {
    await this.users.update({ id }, changes);
  }

  /**
   * Counts a failed sign-in; when it reaches `maxFailures` in a row the account is locked until
   * `lockUntil`. Returns the account's lock time after the update (null when not locked).
   */
  async recordFailedLogin(id: string, maxFailures: number, lockUntil: Date): Promise<Date | null> {
    const result = await this.users
      .createQueryBuilder()
      .update(UserEntity)
      .set({
        failedLoginCount: () => `CASE WHEN failed_login_count + 1 >= :max THEN 0 ELSE failed_login_count + 1 END`,
        lockedUntil: () => `CASE WHEN failed_login_count + 1 >= :max THEN :lockUntil::timestamptz ELSE locked_until END`,
      })
      .where('id = :id', { id, max: maxFailures, lockUntil })
      // By property name: TypeORM drops unknown names from RETURNING; the raw row carries the column name.
      .returning(['lockedUntil'])
      .execute();
    const row = (result.raw as Array<{ locked_until: Date | null }>)[0];
    return row?.locked_until ?? null;
  }

  /** Clears the failure count and lock after a successful sign-in. */
  async clearFailedLogins(id: string): Promise<void> {
    await this.users.update({ id }, { failedLoginCount: 0, lockedUntil: null });
  }

  /** Invalidates every access token issued so far; returns the new version. */
  async bumpTokenVersion(id: string): Promise<void> {
    await this.users.increment({ id }, 'tokenVersion', 1);
  }

  async delete(id: string): Promise<void> {
    await this.users.delete({ id });
  }
}
