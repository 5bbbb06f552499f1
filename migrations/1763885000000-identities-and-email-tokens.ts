import type { MigrationInterface, QueryRunner } from 'typeorm';

/** External sign-in identities (Google) of accounts, and single-use email tokens (verification, password reset). */
export class IdentitiesAndEmailTokens1763885000000 implements MigrationInterface {
  name = 'IdentitiesAndEmailTokens1763885000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE user_identities (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        provider varchar(16) NOT NULL CHECK (provider IN ('google')),
        subject varchar(255) NOT NULL,
        email varchar(254) NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT uq_user_identities_provider_subject UNIQUE (provider, subject)
      )`);
    await queryRunner.query(`CREATE INDEX ix_user_identities_user ON user_identities (user_id)`);
    await queryRunner.query(`
      CREATE TABLE email_tokens (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        purpose varchar(16) NOT NULL CHECK (purpose IN ('verify_email', 'reset_password')),
        token_hash char(64) NOT NULL,
        expires_at timestamptz NOT NULL,
        used_at timestamptz NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT uq_email_tokens_hash UNIQUE (token_hash)
      )`);
    await queryRunner.query(`CREATE INDEX ix_email_tokens_user_purpose ON email_tokens (user_id, purpose)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE email_tokens`);
    await queryRunner.query(`DROP TABLE user_identities`);
  }
}
