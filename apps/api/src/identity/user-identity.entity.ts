import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';

export const IDENTITY_PROVIDERS = ['google'] as const;
export type IdentityProvider = (typeof IDENTITY_PROVIDERS)[number];

/** An external sign-in identity of an account: the provider's stable subject (`sub`), unique per provider. */
@Entity('user_identities')
export class UserIdentityEntity {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ name: 'user_id', type: 'uuid' })
  userId: string;

  @Column({ type: 'varchar', length: 16 })
  provider: IdentityProvider;

  /** The provider's subject identifier (OpenID Connect Core §2 `sub`), never an email. */
  @Column({ type: 'varchar', length: 255 })
  subject: string;

  /** The email the provider gave when the identity was linked, for support; not used to sign in. */
  @Column({ type: 'varchar', length: 254, nullable: true })
  email: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
