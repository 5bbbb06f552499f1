import { randomInt } from 'node:crypto';

/**
 * Letters of user codes: consonants only, no look-alikes and no words (RFC 8628 §6.1, whose
 * example this is). 20 letters, 8 of them: about 34.6 bits.
 */
export const USER_CODE_ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ';
export const USER_CODE_LENGTH = 8;
/** A normalized user code: 8 letters of the alphabet, no dash. */
export const USER_CODE_PATTERN = /^[BCDFGHJKLMNPQRSTVWXZ]{8}$/;

/** A random normalized user code (uniform: `randomInt` has no modulo bias). */
export function generateUserCode(): string {
  let code = '';
  for (let index = 0; index < USER_CODE_LENGTH; index += 1) code += USER_CODE_ALPHABET[randomInt(USER_CODE_ALPHABET.length)];
  return code;
}

/** How people see a normalized user code: `XXXX-XXXX`. */
export function formatUserCode(code: string): string {
  return `${code.slice(0, 4)}-${code.slice(4)}`;
}

/**
 * What a person typed, as a normalized user code candidate: upper case, every character that is
 * not a letter (dash, spaces) dropped (RFC 8628 §6.1). The caller still checks {@link USER_CODE_PATTERN}.
 */
export function normalizeUserCode(input: string): string {
  return input.toUpperCase().replace(/[^A-Z]/g, '');
}
