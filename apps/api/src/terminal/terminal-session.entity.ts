import { Column, Entity, PrimaryColumn } from 'typeorm';

/** A terminal session as recorded (`terminal_sessions`); `id` is the live session's id. */
@Entity('terminal_sessions')
export class TerminalSessionEntity {
  @PrimaryColumn('uuid')
  id: string;

  @Column({ name: 'environment_id', type: 'uuid' })
  environmentId: string;

  @Column({ name: 'user_id', type: 'uuid' })
  userId: string;

  @Column({ type: 'varchar', length: 16 })
  transport: 'socket.io' | 'websocket';

  @Column({ type: 'varchar', length: 200, nullable: true })
  client: string | null;

  /** The share link a guest attached with; null for the owner's own sessions (and once the link is deleted). */
  @Column({ name: 'share_id', type: 'uuid', nullable: true })
  shareId: string | null;

  @Column({ name: 'read_only', type: 'boolean', default: false })
  readOnly: boolean;

  @Column({ name: 'started_at', type: 'timestamptz' })
  startedAt: Date;

  @Column({ name: 'ended_at', type: 'timestamptz', nullable: true })
  endedAt: Date | null;

  @Column({ name: 'end_reason', type: 'varchar', length: 32, nullable: true })
  endReason: string | null;

  /** bigint: PostgreSQL answers a string. */
  @Column({ name: 'bytes_in', type: 'bigint', default: 0 })
  bytesIn: string;

  @Column({ name: 'bytes_out', type: 'bigint', default: 0 })
  bytesOut: string;
}
