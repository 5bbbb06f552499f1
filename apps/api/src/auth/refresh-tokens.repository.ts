import { Injectable } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { DataSource, IsNull, Repository } from 'typeorm';
import { RefreshTokenEntity } from './refresh-token.entity.js';

/** The outcome of presenting a refresh token for rotation. */
export type RotationResult =
  | { outcome: 'rotated'; userId: string; familyId: string }
  | { outcome: 'reused'; userId: string }
  | { outcome: 'invalid' };

/** Persistence of refresh tokens (`refresh_tokens`), by the SHA-256 of their secret. */
@Injectable()
export class RefreshTokensRepository {
  constructor(
    @InjectRepository(RefreshTokenEntity) private readonly tokens: Repository<RefreshTokenEntity>,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  async insert(token: { userId: string; tokenHash: string; familyId: string; expiresAt: Date }): Promise<void> {
    await this.tokens.insert(token);
  }

  /**
   * Rotates the token with hash `presentedHash` into `next` (same family) in one transaction.
   * The old row is claimed with a conditional UPDATE, so two concurrent uses cannot both win.
   * A token that was already rotated or revoked counts as reuse: its whole family is revoked.
   */
  async rotate(presentedHash: string, now: Date, next: { tokenHash: string; expiresAt: Date }): Promise<RotationResult> {
    return this.dataSource.transaction(async (manager) => {
      const claimed = await manager
        .createQueryBuilder()
        .update(RefreshTokenEntity)
        .set({ revokedAt: now })
        .where('token_hash = :hash AND revoked_at IS NULL AND expires_at > :now', { hash: presentedHash, now })
        // TypeORM resolves an array of RETURNING columns by property name (unknown names are dropped); raw rows carry column names.
        .returning(['id', 'userId', 'familyId'])
        .execute();
      const row = (claimed.raw as Array<{ id: string; user_id: string; family_id: string }>)[0];
      if (!row) {
        const existing = await manager.findOneBy(RefreshTokenEntity, { tokenHash: presentedHash });
        if (existing?.revokedAt && existing.replacedById) {
          await manager.update(RefreshTokenEntity, { familyId: existing.familyId, revokedAt: IsNull() }, { revokedAt: now });
          return { outcome: 'reused', userId: existing.userId };
        }
        return { outcome: 'invalid' };
      }
      const inserted = await manager.insert(RefreshTokenEntity, {
        userId: row.user_id,
        familyId: row.family_id,
        tokenHash: next.tokenHash,
        expiresAt: next.expiresAt,
      });
      await manager.update(RefreshTokenEntity, { id: row.id }, { replacedById: inserted.identifiers[0].id as string });
      return { outcome: 'rotated', userId: row.user_id, familyId: row.family_id };
    });
  }

  /** Revokes one token (logout); unknown or already revoked tokens are left as they are. */
  async revokeByHash(tokenHash: string, now: Date): Promise<void> {
    await this.tokens.update({ tokenHash, revokedAt: IsNull() }, { revokedAt: now });
  }

  /** Revokes every live token of a user (logout-all, password change). */
  async revokeAllOfUser(userId: string, now: Date): Promise<void> {
    await this.tokens.update({ userId, revokedAt: IsNull() }, { revokedAt: now });
  }
}
