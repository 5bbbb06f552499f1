import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Device authorizations of the OAuth 2.0 Device Authorization Grant (RFC 8628): the device code
 * only as its SHA-256, the user code normalized to its 8 letters, and the state of the request.
 * Kept in the database so that every replica can answer the polling client.
 */
export class DeviceAuthorizations1763884900000 implements MigrationInterface {
  name = 'DeviceAuthorizations1763884900000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE device_authorizations (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        device_code_hash char(64) NOT NULL,
        user_code char(8) NOT NULL CHECK (user_code ~ '^[BCDFGHJKLMNPQRSTVWXZ]{8}$'),
        client_id varchar(255) NULL,
        scope varchar(1000) NULL,
        status varchar(16) NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'denied', 'consumed')),
        user_id uuid NULL REFERENCES users(id) ON DELETE CASCADE,
        interval_seconds integer NOT NULL CHECK (interval_seconds > 0),
        last_polled_at timestamptz NULL,
        expires_at timestamptz NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT uq_device_authorizations_device_code_hash UNIQUE (device_code_hash),
        CONSTRAINT uq_device_authorizations_user_code UNIQUE (user_code),
        CONSTRAINT ck_device_authorizations_decided_by_user CHECK (status = 'pending' OR user_id IS NOT NULL)
      )`);
    await queryRunner.query(`CREATE INDEX ix_device_authorizations_user ON device_authorizations (user_id)`);
    await queryRunner.query(`CREATE INDEX ix_device_authorizations_expires_at ON device_authorizations (expires_at)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE device_authorizations`);
  }
}
