import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import type { ResourceQuantities } from '@devpocket/runtime';

export const TEMPLATE_STATUSES = ['active', 'deprecated'] as const;
export type TemplateStatus = (typeof TEMPLATE_STATUSES)[number];

/** An environment template (API.md `Template`); quantities in Kubernetes notation. */
@Entity('templates')
export class TemplateEntity {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'varchar', length: 63, unique: true })
  name: string;

  @Column({ name: 'display_name', type: 'varchar', length: 100 })
  displayName: string;

  @Column({ type: 'text', default: '' })
  description: string;

  @Column({ type: 'varchar', length: 50 })
  category: string;

  @Column({ type: 'jsonb', default: () => "'[]'" })
  tags: string[];

  @Column({ type: 'varchar', length: 255 })
  image: string;

  @Column({ name: 'default_port', type: 'integer' })
  defaultPort: number;

  @Column({ type: 'jsonb' })
  resources: ResourceQuantities;

  @Column({ name: 'environment_variables', type: 'jsonb', default: () => "'{}'" })
  environmentVariables: Record<string, string>;

  @Column({ name: 'startup_commands', type: 'jsonb', default: () => "'[]'" })
  startupCommands: string[];

  @Column({ type: 'varchar', length: 32 })
  version: string;

  @Column({ type: 'varchar', length: 16, default: 'active' })
  status: TemplateStatus;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
