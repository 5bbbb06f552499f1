import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Share links of environments' terminals (tokens stored as SHA-256 hashes), and which link a terminal session was attached with. */
export class ShareLinks1764057600000 implements MigrationInterface {
  name = 'ShareLinks1764057600000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE share_links (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        environment_id uuid NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
        created_by_user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        mode varchar(8) NOT NULL CHECK (mode IN ('read', 'write')),
        token_hash char(64) NOT NULL,
        token_prefix varchar(16) NOT NULL,
        expires_at timestamptz NOT NULL,
        revoked_at timestamptz NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        last_used_at timestamptz NULL,
        use_count integer NOT NULL DEFAULT 0,
        CONSTRAINT uq_share_links_token_hash UNIQUE (token_hash)
      )`);
    await queryRunner.query(`CREATE INDEX ix_share_links_environment_created ON share_links (environment_id, created_at DESC)`);
    // Deleting an account cascades here: without an index that is a scan of every link.
    await queryRunner.query(`CREATE INDEX ix_share_links_created_by ON share_links (created_by_user_id)`);
    await queryRunner.query(`ALTER TABLE terminal_sessions ADD COLUMN share_id uuid NULL REFERENCES share_links (id) ON DELETE SET NULL`);
    await queryRunner.query(`CREATE INDEX ix_terminal_sessions_share ON terminal_sessions (share_id)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE terminal_sessions DROP COLUMN share_id`);
    await queryRunner.query(`DROP TABLE share_links`);
  }
}
