import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { In, Repository } from 'typeorm';
import type { ResourceQuantities, RuntimeKind } from '@devpocket/runtime';
import { EnvironmentEntity } from './environment.entity.js';
import type { EnvironmentStatus } from './environment-state.js';

/** Persistence of environments (`environments`). */
@Injectable()
export class EnvironmentsRepository {
  constructor(@InjectRepository(EnvironmentEntity) private readonly environments: Repository<EnvironmentEntity>) {}

  /** The environment when it belongs to `userId`; another user's is null, as a missing one. */
  findOwned(userId: string, id: string): Promise<EnvironmentEntity | null> {
    return this.environments.findOneBy({ id, userId });
  }

  findById(id: string): Promise<EnvironmentEntity | null> {
    return this.environments.findOneBy({ id });
  }

  /** A page of a user's environments, newest first. */
  listOwned(userId: string, filter: { status?: EnvironmentStatus; limit: number; offset: number }): Promise<[EnvironmentEntity[], number]> {
    return this.environments.findAndCount({
      where: { userId, ...(filter.status ? { status: filter.status } : {}) },
      order: { createdAt: 'DESC', id: 'ASC' },
      take: filter.limit,
      skip: filter.offset,
    });
  }

  findAllOwned(userId: string): Promise<EnvironmentEntity[]> {
    return this.environments.findBy({ userId });
  }

  /** How many environments of `userId` are in one of `statuses`. */
  countOwned(userId: string, statuses: EnvironmentStatus[]): Promise<number> {
    return this.environments.countBy({ userId, status: In(statuses) });
  }

  /** How many environments of `userId` are in each status (statuses with none are left out). */
  async countOwnedByStatus(userId: string): Promise<Partial<Record<EnvironmentStatus, number>>> {
    const rows = await this.environments
      .createQueryBuilder('env')
      .select('env.status', 'status')
      .addSelect('count(*)::int', 'count')
      .where('env.user_id = :userId', { userId })
      .groupBy('env.status')
      .getRawMany<{ status: EnvironmentStatus; count: number }>();
    return Object.fromEntries(rows.map((row) => [row.status, Number(row.count)]));
  }

  findByStatuses(statuses: EnvironmentStatus[]): Promise<EnvironmentEntity[]> {
    return this.environments.findBy({ status: In(statuses) });
  }

  /** @throws QueryFailedError on a duplicate name for the user (constraint `uq_environments_user_name`) */
  insert(env: { userId: string; name: string; templateId: string; clusterId: string | null; runtime: RuntimeKind; resources: ResourceQuantities; status: EnvironmentStatus }): Promise<EnvironmentEntity> {
    return this.environments.save(this.environments.create(env));
  }

  /**
   * Sets the status (and the other fields given) only while the current status is one of
   * `from`; returns the updated row, or null when the status had moved on (a compare-and-set, so
   * concurrent requests cannot both win).
   */
  async transition(
    id: string,
    from: EnvironmentStatus[],
    to: EnvironmentStatus,
    fields: { lastError?: string | null } = {},
  ): Promise<EnvironmentEntity | null> {
    const result = await this.environments
      .createQueryBuilder()
      .update(EnvironmentEntity)
      .set({ status: to, ...fields })
      .where('id = :id AND status IN (:...from)', { id, from })
      .returning('*')
      .execute();
    const raw = (result.raw as Array<Record<string, unknown>>)[0];
    return raw ? this.environments.create(this.fromRaw(raw)) : null;
  }

  /**
   * Renames the user's environment; null when the user has no such environment.
   * @throws QueryFailedError on a duplicate name for the user
   */
  async renameOwned(userId: string, id: string, name: string): Promise<EnvironmentEntity | null> {
    const result = await this.environments
      .createQueryBuilder()
      .update(EnvironmentEntity)
      .set({ name })
      .where('id = :id AND user_id = :userId', { id, userId })
      .returning('*')
      .execute();
    const raw = (result.raw as Array<Record<string, unknown>>)[0];
    return raw ? this.environments.create(this.fromRaw(raw)) : null;
  }

  /** Records terminal activity: sets `last_activity_at` only (not `updated_at`). */
  async touchActivity(id: string, at: Date): Promise<void> {
    await this.environments.query('UPDATE environments SET last_activity_at = $2 WHERE id = $1', [id, at]);
  }

  async delete(id: string): Promise<void> {
    await this.environments.delete({ id });
  }

  private fromRaw(raw: Record<string, unknown>): Partial<EnvironmentEntity> {
    return {
      id: raw.id as string,
      userId: raw.user_id as string,
      name: raw.name as string,
      status: raw.status as EnvironmentStatus,
      templateId: raw.template_id as string,
      clusterId: raw.cluster_id as string | null,
      runtime: raw.runtime as RuntimeKind,
      resources: raw.resources as ResourceQuantities,
      url: raw.url as string | null,
      lastError: raw.last_error as string | null,
      lastActivityAt: raw.last_activity_at as Date | null,
      createdAt: raw.created_at as Date,
      updatedAt: raw.updated_at as Date,
    };
  }
}
