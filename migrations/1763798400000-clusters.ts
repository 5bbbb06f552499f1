import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Clusters (kubeconfig sealed), per-user access grants, and environments' cluster reference. */
export class Clusters1763798400000 implements MigrationInterface {
  name = 'Clusters1763798400000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE clusters (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name varchar(63) NOT NULL,
        region varchar(63) NOT NULL,
        server varchar(2048) NOT NULL,
        kubeconfig_sealed text NOT NULL,
        context varchar(253) NULL,
        is_default boolean NOT NULL DEFAULT false,
        status varchar(16) NOT NULL DEFAULT 'pending'
          CHECK (status IN ('pending', 'connected', 'unreachable', 'unauthorized', 'error')),
        server_version varchar(64) NULL,
        last_error text NULL,
        last_checked_at timestamptz NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT uq_clusters_name UNIQUE (name)
      )`);
    // At most one default cluster.
    await queryRunner.query(`CREATE UNIQUE INDEX uq_clusters_default ON clusters (is_default) WHERE is_default`);
    await queryRunner.query(`
      CREATE TABLE user_cluster_access (
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        cluster_id uuid NOT NULL REFERENCES clusters(id) ON DELETE CASCADE,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (user_id, cluster_id)
      )`);
    await queryRunner.query(`CREATE INDEX ix_user_cluster_access_cluster ON user_cluster_access (cluster_id)`);
    await queryRunner.query(
      `ALTER TABLE environments ADD CONSTRAINT fk_environments_cluster FOREIGN KEY (cluster_id) REFERENCES clusters(id) ON DELETE RESTRICT`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE environments DROP CONSTRAINT fk_environments_cluster`);
    await queryRunner.query(`DROP TABLE user_cluster_access`);
    await queryRunner.query(`DROP TABLE clusters`);
  }
}
