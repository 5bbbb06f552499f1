import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { IsNull, Repository } from 'typeorm';
import { ShareLinkEntity, type ShareMode } from './share-link.entity.js';

/** What is stored of a new share link. */
export interface NewShareLink {
  environmentId: string;
  createdByUserId: string;
  mode: ShareMode;
  tokenHash: string;
  tokenPrefix: string;
  expiresAt: Date;
}

/** A share link found by its token, with what is known of its environment's owner. */
export interface ShareLinkWithOwner {
  id: string;
  environmentId: string;
  mode: ShareMode;
  expiresAt: Date;
  revokedAt: Date | null;
  /** `user_id` of the environment row. */
  ownerId: string;
  ownerActive: boolean;
}

/** Persistence of share links (`share_links`). */
@Injectable()
export class SharesRepository {
  constructor(@InjectRepository(ShareLinkEntity) private readonly shares: Repository<ShareLinkEntity>) {}

  /** @throws QueryFailedError on a token hash collision (unique `uq_share_links_token_hash`, SQLSTATE 23505) */
  async insert(share: NewShareLink): Promise<ShareLinkEntity> {
    return this.shares.save(this.shares.create(share));
  }

  /** One page of an environment's share links (revoked and expired ones included), newest first, and their count. */
  findPageForEnvironment(environmentId: string, limit: number, offset: number): Promise<[ShareLinkEntity[], number]> {
    return this.shares.findAndCount({
      where: { environmentId },
      order: { createdAt: 'DESC', id: 'ASC' },
      take: limit,
      skip: offset,
    });
  }

  findInEnvironment(environmentId: string, id: string): Promise<ShareLinkEntity | null> {
    return this.shares.findOneBy({ environmentId, id });
  }

  /**
   * Sets `revoked_at` of a share link that is not revoked yet.
   * @returns false when it was already revoked (or is gone), so only one caller reports the revocation
   */
  async revoke(id: string, now: Date): Promise<boolean> {
    const result = await this.shares.update({ id, revokedAt: IsNull() }, { revokedAt: now });
    return (result.affected ?? 0) > 0;
  }

  /**
   * The share link whose token hashes to `tokenHash`, joined with its environment and that
   * environment's owner (the owner is whoever owns the environment now, read from its row).
   */
  async findByTokenHash(tokenHash: string): Promise<ShareLinkWithOwner | null> {
    const rows: Array<{
      id: string;
      environment_id: string;
      mode: ShareMode;
      expires_at: Date;
      revoked_at: Date | null;
      owner_id: string;
      owner_active: boolean;
    }> = await this.shares.query(
      `SELECT share.id, share.environment_id, share.mode, share.expires_at, share.revoked_at,
              environment.user_id AS owner_id, owner.active AS owner_active
         FROM share_links share
         JOIN environments environment ON environment.id = share.environment_id
         JOIN users owner ON owner.id = environment.user_id
        WHERE share.token_hash = $1`,
      [tokenHash],
    );
    const row = rows[0];
    if (!row) return null;
    return {
      id: row.id,
      environmentId: row.environment_id,
      mode: row.mode,
      expiresAt: row.expires_at,
      revokedAt: row.revoked_at,
      ownerId: row.owner_id,
      ownerActive: row.owner_active,
    };
  }

  /**
   * Of `ids`, the links no longer usable at `now`, with whether they expired; a link revoked,
   * deleted, or of a deactivated owner counts as not expired.
   */
  async findUnusable(ids: string[], now: Date): Promise<Array<{ id: string; expired: boolean }>> {
    if (ids.length === 0) return [];
    const rows: Array<{ id: string; expired: boolean | null }> = await this.shares.query(
      `SELECT wanted.id, share.expires_at <= $2 AS expired
         FROM unnest($1::uuid[]) AS wanted(id)
         LEFT JOIN share_links share ON share.id = wanted.id
         LEFT JOIN environments environment ON environment.id = share.environment_id
         LEFT JOIN users owner ON owner.id = environment.user_id
        WHERE share.id IS NULL OR share.revoked_at IS NOT NULL OR share.expires_at <= $2 OR owner.active IS NOT TRUE`,
      [ids, now],
    );
    return rows.map((row) => ({ id: row.id, expired: row.expired === true }));
  }

  /** Counts one use: `use_count + 1` and `last_used_at`, in one statement (concurrent attaches add up). */
  async recordUse(id: string, at: Date): Promise<void> {
    await this.shares
      .createQueryBuilder()
      .update(ShareLinkEntity)
      .set({ useCount: () => 'use_count + 1', lastUsedAt: at })
      .where('id = :id', { id })
      .execute();
  }
}
