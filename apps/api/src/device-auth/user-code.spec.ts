import { describe, expect, it } from '@jest/globals';
import { formatUserCode, generateUserCode, normalizeUserCode, USER_CODE_ALPHABET, USER_CODE_PATTERN } from './user-code.js';

describe('user codes (RFC 8628 §6.1)', () => {
  it('draws 8 letters of the look-alike-free alphabet, every letter in use', () => {
    const seen = new Set<string>();
    for (let index = 0; index < 500; index += 1) {
      const code = generateUserCode();
      expect(code).toMatch(USER_CODE_PATTERN);
      for (const letter of code) seen.add(letter);
    }
    expect([...seen].sort().join('')).toBe(USER_CODE_ALPHABET);
  });

  it('shows a code as XXXX-XXXX and reads back what a person types in any case, with or without the dash', () => {
    expect(formatUserCode('BCDFGHJK')).toBe('BCDF-GHJK');
    for (const typed of ['BCDF-GHJK', 'bcdf-ghjk', 'bcdfghjk', ' Bcdf ghjk ']) expect(normalizeUserCode(typed)).toBe('BCDFGHJK');
  });
});
