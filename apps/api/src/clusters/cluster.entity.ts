import { Column, CreateDateColumn, Entity, PrimaryColumn, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

export const CLUSTER_STATUSES = ['pending', 'connected', 'unreachable', 'unauthorized', 'error'] as const;
/** The result of the last check: `pending` before any, `connected`, or why it failed. */
export type ClusterStatus = (typeof CLUSTER_STATUSES)[number];

/** A registered Kubernetes cluster. The kubeconfig is stored sealed (AES-256-GCM), never in clear. */
@Entity('clusters')
export class ClusterEntity {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'varchar', length: 63 })
  name: string;

  @Column({ type: 'varchar', length: 63 })
  region: string;

  /** The API server URL of the kubeconfig's current context. */
  @Column({ type: 'varchar', length: 2048 })
  server: string;

  /** `SecretBox` output of the kubeconfig YAML, bound to `cluster:<id>`. */
  @Column({ name: 'kubeconfig_sealed', type: 'text' })
  kubeconfigSealed: string;

  /** Context of the kubeconfig to use; null: its current-context. */
  @Column({ type: 'varchar', length: 253, nullable: true })
  context: string | null;

  @Column({ name: 'is_default', type: 'boolean', default: false })
  isDefault: boolean;

  @Column({ type: 'varchar', length: 16, default: 'pending' })
  status: ClusterStatus;

  /** gitVersion of the API server at the last successful check. */
  @Column({ name: 'server_version', type: 'varchar', length: 64, nullable: true })
  serverVersion: string | null;

  @Column({ name: 'last_error', type: 'text', nullable: true })
  lastError: string | null;

  @Column({ name: 'last_checked_at', type: 'timestamptz', nullable: true })
  lastCheckedAt: Date | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}

/** A user allowed to use a cluster that is not the default. */
@Entity('user_cluster_access')
export class UserClusterAccessEntity {
  @PrimaryColumn({ name: 'user_id', type: 'uuid' })
  userId: string;

  @PrimaryColumn({ name: 'cluster_id', type: 'uuid' })
  clusterId: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
