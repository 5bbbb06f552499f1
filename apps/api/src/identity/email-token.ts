import { createHash, randomBytes } from 'node:crypto';

/** A new mailed token: 256 random bits as base64url, and the hex SHA-256 that is stored. */
export function newEmailToken(): { token: string; hash: string } {
  const token = randomBytes(32).toString('base64url');
  return { token, hash: hashEmailToken(token) };
}

/** Hex SHA-256 of a mailed token, as stored in `email_tokens.token_hash`. */
export function hashEmailToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
