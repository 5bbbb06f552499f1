import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';

/**
 * Where a device authorization request stands (RFC 8628 §3.3–§3.5): waiting for the user, approved
 * or denied by them, or consumed by the one token exchange it allows.
 */
export type DeviceAuthorizationStatus = 'pending' | 'approved' | 'denied' | 'consumed';

/**
 * One device authorization request (RFC 8628 §3.1–§3.2). The device code is stored only as its
 * hex SHA-256; the user code as its 8 letters, without the dash shown to people.
 */
@Entity('device_authorizations')
export class DeviceAuthorizationEntity {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  /** Hex SHA-256 of the device code. */
  @Column({ name: 'device_code_hash', type: 'char', length: 64, unique: true })
  deviceCodeHash: string;

  /** 8 letters of `BCDFGHJKLMNPQRSTVWXZ`, shown as `XXXX-XXXX`. */
  @Column({ name: 'user_code', type: 'char', length: 8, unique: true })
  userCode: string;

  @Column({ name: 'client_id', type: 'varchar', length: 255, nullable: true })
  clientId: string | null;

  @Column({ type: 'varchar', length: 1000, nullable: true })
  scope: string | null;

  @Column({ type: 'varchar', length: 16, default: 'pending' })
  status: DeviceAuthorizationStatus;

  /** The account that approved or denied the request; null while pending. */
  @Column({ name: 'user_id', type: 'uuid', nullable: true })
  userId: string | null;

  /** Minimum seconds between two polls; grows by 5 after each `slow_down` (RFC 8628 §3.5). */
  @Column({ name: 'interval_seconds', type: 'integer' })
  intervalSeconds: number;

  @Column({ name: 'last_polled_at', type: 'timestamptz', nullable: true })
  lastPolledAt: Date | null;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt: Date;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
