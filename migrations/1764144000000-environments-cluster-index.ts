import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * An index for `environments.cluster_id`: its foreign key restricts the deletion of a cluster,
 * and without the index each such check (and "is this cluster in use") scans every environment.
 */
export class EnvironmentsClusterIndex1764144000000 implements MigrationInterface {
  name = 'EnvironmentsClusterIndex1764144000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE INDEX ix_environments_cluster ON environments (cluster_id)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX ix_environments_cluster`);
  }
}
