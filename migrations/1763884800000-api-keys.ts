import type { MigrationInterface, QueryRunner } from 'typeorm';

/** API keys (personal access tokens, stored as SHA-256 hashes) and their per-day request counts. */
export class ApiKeys1763884800000 implements MigrationInterface {
  name = 'ApiKeys1763884800000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE api_keys (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        name varchar(100) NOT NULL,
        prefix varchar(16) NOT NULL,
        secret_hash char(64) NOT NULL,
        scopes text[] NOT NULL CHECK (cardinality(scopes) > 0),
        expires_at timestamptz NULL,
        last_used_at timestamptz NULL,
        revoked_at timestamptz NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT uq_api_keys_prefix UNIQUE (prefix)
      )`);
    await queryRunner.query(`CREATE INDEX ix_api_keys_user ON api_keys (user_id)`);
    await queryRunner.query(`
      CREATE TABLE api_key_usage (
        api_key_id uuid NOT NULL REFERENCES api_keys(id) ON DELETE CASCADE,
        day date NOT NULL,
        requests integer NOT NULL DEFAULT 0,
        PRIMARY KEY (api_key_id, day)
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE api_key_usage`);
    await queryRunner.query(`DROP TABLE api_keys`);
  }
}
