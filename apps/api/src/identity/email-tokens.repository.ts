import { Injectable } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { DataSource, IsNull, Repository } from 'typeorm';
import { EmailTokenEntity, type EmailTokenPurpose } from './email-token.entity.js';

/** Persistence of mailed single-use tokens (`email_tokens`), by the SHA-256 of their secret. */
@Injectable()
export class EmailTokensRepository {
  constructor(
    @InjectRepository(EmailTokenEntity) private readonly tokens: Repository<EmailTokenEntity>,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  /** Stores a new token; the user's earlier unused tokens of the same purpose stop working (only the latest link is valid). */
  async replace(token: { userId: string; purpose: EmailTokenPurpose; tokenHash: string; expiresAt: Date }, now: Date): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      await manager.update(EmailTokenEntity, { userId: token.userId, purpose: token.purpose, usedAt: IsNull() }, { usedAt: now });
      await manager.insert(EmailTokenEntity, token);
    });
  }

  /**
   * Spends a token: one conditional UPDATE, so two concurrent uses cannot both win.
   * @returns the token's user id, or null when the token is unknown, of another purpose, used or expired
   */
  async consume(tokenHash: string, purpose: EmailTokenPurpose, now: Date): Promise<string | null> {
    const result = await this.tokens
      .createQueryBuilder()
      .update(EmailTokenEntity)
      .set({ usedAt: now })
      .where('token_hash = :tokenHash AND purpose = :purpose AND used_at IS NULL AND expires_at > :now', { tokenHash, purpose, now })
      // By property name: TypeORM drops unknown names from RETURNING; the raw row carries the column name.
      .returning(['userId'])
      .execute();
    const row = (result.raw as Array<{ user_id: string }>)[0];
    return row?.user_id ?? null;
  }
}
