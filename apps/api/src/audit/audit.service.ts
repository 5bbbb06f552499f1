import { Injectable, Logger } from '@nestjs/common';
import type { Page } from '../common/validation.js';
import type { AuditAction } from './audit-event.entity.js';
import { AuditEventsRepository } from './audit-events.repository.js';
import { toAuditEventDto, type AuditEventDto, type ListAuditEventsQueryDto } from './dto/audit-event.dto.js';
import { currentClientIp } from './request-context.js';

/** An event to record; `ip` defaults to the client IP of the HTTP request being served. */
export interface AuditRecord {
  action: AuditAction;
  actorUserId: string | null;
  targetType?: 'user' | 'api_key' | 'cluster' | 'environment';
  targetId?: string | null;
  ip?: string | null;
  details?: Record<string, unknown>;
}

/** The audit trail (API.md, issue part 7): security-relevant events with actor, target, IP and time. */
@Injectable()
export class AuditService {
  private readonly logger = new Logger(AuditService.name);

  constructor(private readonly events: AuditEventsRepository) {}

  /**
   * Stores one event. Never throws: a failure to audit is logged and does not undo or fail
   * what the caller did.
   */
  async record(event: AuditRecord): Promise<void> {
    try {
      await this.events.insert({
        action: event.action,
        actorUserId: event.actorUserId,
        targetType: event.targetType ?? null,
        targetId: event.targetId ?? null,
        ip: event.ip === undefined ? currentClientIp() : event.ip,
        details: event.details ?? null,
      });
    } catch (error) {
      this.logger.error(`could not record audit event ${event.action} (actor ${event.actorUserId ?? 'none'}, target ${event.targetId ?? 'none'}): ${(error as Error).message}`);
    }
  }

  /** A page of the trail, newest first, filtered by action, actor and target. */
  async list(query: ListAuditEventsQueryDto): Promise<Page<AuditEventDto>> {
    const [items, total] = await this.events.list(query);
    return { items: items.map(toAuditEventDto), total, limit: query.limit, offset: query.offset };
  }
}
