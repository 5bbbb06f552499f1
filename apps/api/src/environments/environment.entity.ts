import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn, Unique, UpdateDateColumn } from 'typeorm';
import type { ResourceQuantities, RuntimeKind } from '@devpocket/runtime';
import type { EnvironmentStatus } from './environment-state.js';

/** A development environment of one user; `name` is unique per user. */
@Entity('environments')
@Unique('uq_environments_user_name', ['userId', 'name'])
export class EnvironmentEntity {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Index()
  @Column({ name: 'user_id', type: 'uuid' })
  userId: string;

  @Column({ type: 'varchar', length: 63 })
  name: string;

  @Column({ type: 'varchar', length: 16 })
  status: EnvironmentStatus;

  @Column({ name: 'template_id', type: 'uuid' })
  templateId: string;

  @Column({ name: 'cluster_id', type: 'uuid', nullable: true })
  clusterId: string | null;

  @Column({ type: 'varchar', length: 16 })
  runtime: RuntimeKind;

  @Column({ type: 'jsonb' })
  resources: ResourceQuantities;

  @Column({ type: 'varchar', length: 2048, nullable: true })
  url: string | null;

  @Column({ name: 'last_error', type: 'text', nullable: true })
  lastError: string | null;

  @Column({ name: 'last_activity_at', type: 'timestamptz', nullable: true })
  lastActivityAt: Date | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
