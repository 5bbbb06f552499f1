import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsUUID, MaxLength } from 'class-validator';
import { PageQueryDto } from '../../common/validation.js';
import { AUDIT_ACTIONS, type AuditAction, type AuditEventEntity } from '../audit-event.entity.js';

/** GET /audit-events filters. */
export class ListAuditEventsQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ enum: AUDIT_ACTIONS })
  @IsOptional()
  @IsIn(AUDIT_ACTIONS)
  action?: AuditAction;

  @ApiPropertyOptional({ format: 'uuid', description: 'The user who acted' })
  @IsOptional()
  @IsUUID('all', { message: 'actorId must be a UUID' })
  actorId?: string;

  @ApiPropertyOptional({ description: 'The id of the user, key, cluster or environment acted upon' })
  @IsOptional()
  @MaxLength(64)
  targetId?: string;
}

/** One event of the audit trail. */
export class AuditEventDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ format: 'date-time' }) at: string;
  @ApiProperty({ type: String, format: 'uuid', nullable: true, description: 'The signed-in user who acted; null when anonymous' }) actorId: string | null;
  @ApiProperty({ enum: AUDIT_ACTIONS }) action: AuditAction;
  @ApiProperty({ type: String, nullable: true, example: 'environment' }) targetType: string | null;
  @ApiProperty({ type: String, nullable: true }) targetId: string | null;
  @ApiProperty({ type: String, nullable: true, example: '203.0.113.7' }) ip: string | null;
  @ApiProperty({ type: Object, nullable: true, example: { from: 'free', to: 'pro' } }) details: Record<string, unknown> | null;
}

/** Maps an audit row to the wire, field by field. */
export function toAuditEventDto(event: AuditEventEntity): AuditEventDto {
  return {
    id: event.id,
    at: event.at.toISOString(),
    actorId: event.actorUserId,
    action: event.action,
    targetType: event.targetType,
    targetId: event.targetId,
    ip: event.ip,
    details: event.details,
  };
}
