import { createHash, randomBytes } from 'node:crypto';

/**
 * Hex SHA-256 of an opaque token (refresh token, API key, device code, mailed token, share
 * token): what the database keeps instead of the token. The tokens carry 256 random bits, so a
 * slow password hash would add nothing.
 */
export function tokenHash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** A new opaque token: `prefix` and 32 random bytes as base64url (43 characters), with its {@link tokenHash}. */
export function newOpaqueToken(prefix = ''): { token: string; hash: string } {
  const token = `${prefix}${randomBytes(32).toString('base64url')}`;
  return { token, hash: tokenHash(token) };
}
