import { Injectable } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { DataSource, Repository } from 'typeorm';
import { UserEntity, type Plan, type Role } from './user.entity.js';

/** What registration stores of a new account. */
export interface NewUser {
  email: string;
  username: string;
  passwordHash: string | null;
  fullName: string | null;
  /** Whether the account is an admin regardless of being first (ADMIN_EMAILS). */
  admin: boolean;
  /** Whether the email is known to belong to the person already (a verified Google email); default false. */
  emailVerified?: boolean;
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

  /**
   * A page of accounts, oldest first: `q` matches part of the email, username or full name
   * (case-insensitive); `role`, `plan` and `active` match exactly.
   */
  list(filter: { q?: string; role?: Role; plan?: Plan; active?: boolean; limit: number; offset: number }): Promise<[UserEntity[], number]> {
    const query = this.users.createQueryBuilder('user').orderBy('user.created_at', 'ASC').addOrderBy('user.id', 'ASC').take(filter.limit).skip(filter.offset);
    if (filter.q) {
      const pattern = `%${filter.q.replace(/[\\%_]/g, (char) => `\\${char}`)}%`;
      query.andWhere('(user.email ILIKE :pattern OR user.username ILIKE :pattern OR user.full_name ILIKE :pattern)', { pattern });
    }
    if (filter.role) query.andWhere('user.role = :role', { role: filter.role });
    if (filter.plan) query.andWhere('user.plan = :plan', { plan: filter.plan });
    if (filter.active !== undefined) query.andWhere('user.active = :active', { active: filter.active });
    return query.getManyAndCount();
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
        emailVerified: user.emailVerified ?? false,
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

  /** Records that the account's owner controls its email (a followed verification link, a verified Google email). */
  async markEmailVerified(id: string): Promise<void> {
    await this.users.update({ id }, { emailVerified: true });
  }

  /** Invalidates every access token issued so far; returns the new version. */
  async bumpTokenVersion(id: string): Promise<void> {
    await this.users.increment({ id }, 'tokenVersion', 1);
  }

  async delete(id: string): Promise<void> {
    await this.users.delete({ id });
  }

  /**
   * The user's terminal use from `terminal_sessions`: sessions, attached seconds (live ones up to
   * now), input and output bytes (counters of live sessions as last flushed, at most 30 s old).
   */
  async terminalUsage(userId: string): Promise<{ sessions: number; seconds: number; bytesIn: number; bytesOut: number }> {
    const [row] = await this.dataSource.query(
      `SELECT count(*)::int AS sessions,
              coalesce(sum(extract(epoch FROM coalesce(ended_at, now()) - started_at)), 0)::float8 AS seconds,
              coalesce(sum(bytes_in), 0)::float8 AS bytes_in,
              coalesce(sum(bytes_out), 0)::float8 AS bytes_out
         FROM terminal_sessions WHERE user_id = $1`,
      [userId],
    );
    return { sessions: row.sessions, seconds: Math.round(row.seconds), bytesIn: row.bytes_in, bytesOut: row.bytes_out };
  }
}
