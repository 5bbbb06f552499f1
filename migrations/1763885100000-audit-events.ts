import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The audit trail. No foreign key to users: an event outlives the account that acted or was
 * acted upon.
 */
export class AuditEvents1763885100000 implements MigrationInterface {
  name = 'AuditEvents1763885100000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE audit_events (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        at timestamptz NOT NULL DEFAULT now(),
        actor_user_id uuid NULL,
        action varchar(64) NOT NULL,
        target_type varchar(32) NULL,
        target_id varchar(64) NULL,
        ip varchar(64) NULL,
        details jsonb NULL
      )`);
    await queryRunner.query(`CREATE INDEX ix_audit_events_at ON audit_events (at DESC)`);
    await queryRunner.query(`CREATE INDEX ix_audit_events_action_at ON audit_events (action, at DESC)`);
    await queryRunner.query(`CREATE INDEX ix_audit_events_actor_at ON audit_events (actor_user_id, at DESC)`);
    await queryRunner.query(`CREATE INDEX ix_audit_events_target_at ON audit_events (target_id, at DESC)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE audit_events`);
  }
}
