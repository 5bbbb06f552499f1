import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Terminal sessions: who attached to which environment, how, when, and how many bytes flowed. */
export class TerminalSessions1763971200000 implements MigrationInterface {
  name = 'TerminalSessions1763971200000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE terminal_sessions (
        id uuid PRIMARY KEY,
        environment_id uuid NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
        user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        transport varchar(16) NOT NULL,
        client varchar(200) NULL,
        read_only boolean NOT NULL DEFAULT false,
        started_at timestamptz NOT NULL DEFAULT now(),
        ended_at timestamptz NULL,
        end_reason varchar(32) NULL,
        bytes_in bigint NOT NULL DEFAULT 0,
        bytes_out bigint NOT NULL DEFAULT 0
      )`);
    await queryRunner.query(`CREATE INDEX ix_terminal_sessions_environment_started ON terminal_sessions (environment_id, started_at DESC)`);
    await queryRunner.query(`CREATE INDEX ix_terminal_sessions_user ON terminal_sessions (user_id)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE terminal_sessions`);
  }
}
