import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository, type FindOptionsWhere } from 'typeorm';
import { AuditEventEntity, type AuditAction } from './audit-event.entity.js';

/** A filter of the audit trail. */
export interface AuditEventFilter {
  action?: AuditAction;
  actorId?: string;
  targetId?: string;
  limit: number;
  offset: number;
}

/** Persistence of the audit trail (`audit_events`); rows are only ever inserted. */
@Injectable()
export class AuditEventsRepository {
  constructor(@InjectRepository(AuditEventEntity) private readonly events: Repository<AuditEventEntity>) {}

  async insert(event: Omit<AuditEventEntity, 'id' | 'at'>): Promise<void> {
    await this.events.save(this.events.create(event), { reload: false });
  }

  /** A page of events, newest first. */
  list(filter: AuditEventFilter): Promise<[AuditEventEntity[], number]> {
    const where: FindOptionsWhere<AuditEventEntity> = {};
    if (filter.action) where.action = filter.action;
    if (filter.actorId) where.actorUserId = filter.actorId;
    if (filter.targetId) where.targetId = filter.targetId;
    return this.events.findAndCount({ where, order: { at: 'DESC', id: 'ASC' }, take: filter.limit, skip: filter.offset });
  }
}
