import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/** What happened, as stored (`action` of an audit event). */
export const AUDIT_ACTIONS = [
  'auth.sign_in',
  'auth.sign_in_failed',
  'auth.locked',
  'api_key.created',
  'api_key.revoked',
  'user.role_changed',
  'user.plan_changed',
  'user.deactivated',
  'user.reactivated',
  'cluster.registered',
  'environment.created',
  'environment.deleted',
  'share.created',
  'share.revoked',
  'share.used',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/** One entry of the audit trail: who (`actorUserId`), did what (`action`) to what (`targetType`, `targetId`), from where and when. */
@Entity('audit_events')
export class AuditEventEntity {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Index()
  @Column({ type: 'timestamptz', default: () => 'now()' })
  at: Date;

  /** The signed-in user who acted; null for an anonymous caller (a failed sign-in of an unknown account). Kept after the account is deleted. */
  @Column({ name: 'actor_user_id', type: 'uuid', nullable: true })
  actorUserId: string | null;

  @Column({ type: 'varchar', length: 64 })
  action: AuditAction;

  /** `user`, `api_key`, `cluster`, `environment`. */
  @Column({ name: 'target_type', type: 'varchar', length: 32, nullable: true })
  targetType: string | null;

  @Column({ name: 'target_id', type: 'varchar', length: 64, nullable: true })
  targetId: string | null;

  /** Client IP of the request, as the server saw it. */
  @Column({ type: 'varchar', length: 64, nullable: true })
  ip: string | null;

  /** Small facts of the event (old and new role, the reason of a failure); never a secret. */
  @Column({ type: 'jsonb', nullable: true })
  details: Record<string, unknown> | null;
}
