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

/** Whether the query failed on a row still referenced: foreign_key_violation 23503 or restrict_violation 23001. */
export function violatedForeignKey(error: unknown): boolean {
  return error instanceof QueryFailedError && ['23503', '23001'].includes((error.driverError as { code?: string }).code ?? '');
}
