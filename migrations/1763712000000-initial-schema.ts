import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Users, refresh tokens, templates and environments. */
export class InitialSchema1763712000000 implements MigrationInterface {
  name = 'InitialSchema1763712000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE users (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        email varchar(254) NOT NULL,
        username varchar(32) NOT NULL,
        password_hash varchar NULL,
        full_name varchar(200) NULL,
        role varchar(16) NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
        plan varchar(16) NOT NULL DEFAULT 'free' CHECK (plan IN ('free', 'starter', 'pro', 'enterprise')),
        email_verified boolean NOT NULL DEFAULT false,
        active boolean NOT NULL DEFAULT true,
        failed_login_count integer NOT NULL DEFAULT 0,
        locked_until timestamptz NULL,
        token_version integer NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT uq_users_email UNIQUE (email),
        CONSTRAINT uq_users_username UNIQUE (username)
      )`);
    await queryRunner.query(`
      CREATE TABLE refresh_tokens (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        token_hash char(64) NOT NULL,
        family_id uuid NOT NULL,
        expires_at timestamptz NOT NULL,
        revoked_at timestamptz NULL,
        replaced_by_id uuid NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT uq_refresh_tokens_hash UNIQUE (token_hash)
      )`);
    await queryRunner.query(`CREATE INDEX ix_refresh_tokens_user ON refresh_tokens (user_id)`);
    await queryRunner.query(`CREATE INDEX ix_refresh_tokens_family ON refresh_tokens (family_id)`);
    await queryRunner.query(`
      CREATE TABLE templates (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name varchar(63) NOT NULL,
        display_name varchar(100) NOT NULL,
        description text NOT NULL DEFAULT '',
        category varchar(50) NOT NULL,
        tags jsonb NOT NULL DEFAULT '[]',
        image varchar(255) NOT NULL,
        default_port integer NOT NULL,
        resources jsonb NOT NULL,
        environment_variables jsonb NOT NULL DEFAULT '{}',
        startup_commands jsonb NOT NULL DEFAULT '[]',
        version varchar(32) NOT NULL,
        status varchar(16) NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'deprecated')),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT uq_templates_name UNIQUE (name)
      )`);
    await queryRunner.query(`
      CREATE TABLE environments (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        name varchar(63) NOT NULL,
        status varchar(16) NOT NULL,
        template_id uuid NOT NULL REFERENCES templates(id) ON DELETE RESTRICT,
        cluster_id uuid NULL,
        runtime varchar(16) NOT NULL,
        resources jsonb NOT NULL,
        url varchar(2048) NULL,
        last_error text NULL,
        last_activity_at timestamptz NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT uq_environments_user_name UNIQUE (user_id, name)
      )`);
    await queryRunner.query(`CREATE INDEX ix_environments_user ON environments (user_id)`);
    await queryRunner.query(`CREATE INDEX ix_environments_status ON environments (status)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE environments`);
    await queryRunner.query(`DROP TABLE templates`);
    await queryRunner.query(`DROP TABLE refresh_tokens`);
    await queryRunner.query(`DROP TABLE users`);
  }
}
