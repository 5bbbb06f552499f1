import { Injectable } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { DataSource, LessThan, MoreThan, Repository } from 'typeorm';
import { DeviceAuthorizationEntity } from './device-authorization.entity.js';

/** What a poll decides about a locked device authorization: the changes to save and what to answer. */
export interface PollDecision<T> {
  changes: Partial<Pick<DeviceAuthorizationEntity, 'status' | 'intervalSeconds' | 'lastPolledAt'>>;
  result: T;
}

/** Persistence of device authorizations (`device_authorizations`), by device code hash or user code. */
@Injectable()
export class DeviceAuthorizationsRepository {
  constructor(
    @InjectRepository(DeviceAuthorizationEntity) private readonly authorizations: Repository<DeviceAuthorizationEntity>,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  /**
   * Inserts a pending device authorization.
   * @throws QueryFailedError on a duplicate user code (`uq_device_authorizations_user_code`) or device code hash
   */
  async insert(authorization: Pick<DeviceAuthorizationEntity, 'deviceCodeHash' | 'userCode' | 'clientId' | 'scope' | 'intervalSeconds' | 'expiresAt'>): Promise<void> {
    await this.authorizations.insert({ ...authorization, status: 'pending' });
  }

  /** Deletes the authorizations that expired before `cutoff`, whatever their state: their user codes become free again. */
  async deleteExpiredBefore(cutoff: Date): Promise<void> {
    await this.authorizations.delete({ expiresAt: LessThan(cutoff) });
  }

  findByUserCode(userCode: string): Promise<DeviceAuthorizationEntity | null> {
    return this.authorizations.findOneBy({ userCode });
  }

  /**
   * Moves a pending, unexpired authorization to `approved` or `denied` by `userId`, with one
   * conditional UPDATE so that two decisions on one code cannot both win.
   * @returns whether a pending authorization with this user code was decided
   */
  async decidePending(userCode: string, userId: string, status: 'approved' | 'denied', now: Date): Promise<boolean> {
    const result = await this.authorizations.update({ userCode, status: 'pending', expiresAt: MoreThan(now) }, { status, userId });
    return (result.affected ?? 0) > 0;
  }

  /**
   * Locks the authorization of a device code hash (SELECT … FOR UPDATE), lets `decide` judge it,
   * saves the decided changes and returns the decided result, all in one transaction: concurrent
   * polls on any replica see each other's `last_polled_at` and only one can consume an approval.
   * @returns the decided result, or null when no authorization has this hash
   */
  async poll<T>(deviceCodeHash: string, decide: (authorization: DeviceAuthorizationEntity) => PollDecision<T>): Promise<T | null> {
    return this.dataSource.transaction(async (manager) => {
      const authorization = await manager.findOne(DeviceAuthorizationEntity, { where: { deviceCodeHash }, lock: { mode: 'pessimistic_write' } });
      if (!authorization) return null;
      const { changes, result } = decide(authorization);
      if (Object.keys(changes).length > 0) await manager.update(DeviceAuthorizationEntity, { id: authorization.id }, changes);
      return result;
    });
  }
}
