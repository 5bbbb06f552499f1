import { QueryFailedError } from 'typeorm';

/**
 * The name of the unique constraint a query violated (PostgreSQL SQLSTATE 23505), or undefined
 * when the error is something else. See https://www.postgresql.org/docs/current/errcodes-appendix.html
 */
export function violatedUniqueConstraint(error: unknown): string | undefined {
  if (!(error instanceof QueryFailedError)) return undefined;
  const driverError = error.driverError as { code?: string; constraint?: string };
  return driverError.code === '23505' ? (driverError.constraint ?? '') : undefined;
}
