import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** What a share link lets its guest do on the environment's terminal. */
export const SHARE_MODES = ['read', 'write'] as const;
export type ShareMode = (typeof SHARE_MODES)[number];

/**
 * A share link of an environment's terminal (`share_links`): a bearer token that lets a guest
 * attach until `expiresAt` or until the owner revokes it. Only the SHA-256 of the token is
 * stored; `tokenPrefix` names it in lists.
 */
@Entity('share_links')
export class ShareLinkEntity {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ name: 'environment_id', type: 'uuid' })
  environmentId: string;

  @Column({ name: 'created_by_user_id', type: 'uuid' })
  createdByUserId: string;

  @Column({ type: 'varchar', length: 8 })
  mode: ShareMode;

  /** SHA-256 (hex) of the whole token. */
  @Column({ name: 'token_hash', type: 'char', length: 64, unique: true })
  tokenHash: string;

  /** `dps_` and the next 8 characters of the token: enough to recognise it, useless to use it. */
  @Column({ name: 'token_prefix', type: 'varchar', length: 16 })
  tokenPrefix: string;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt: Date;

  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true })
  revokedAt: Date | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @Column({ name: 'last_used_at', type: 'timestamptz', nullable: true })
  lastUsedAt: Date | null;

  /** Terminal attaches made with the token. */
  @Column({ name: 'use_count', type: 'integer', default: 0 })
  useCount: number;
}
