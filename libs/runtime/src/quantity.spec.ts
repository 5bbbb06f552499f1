import { describe, expect, it } from '@jest/globals';
import { isQuantity, parseQuantity, toBytes, toMillicores } from './quantity.js';

describe('parseQuantity', () => {
  it.each([
    ['500m', 0.5],
    ['2', 2],
    ['1.5', 1.5],
    ['1Ki', 1024],
    ['1Gi', 1073741824],
    ['5Gi', 5 * 1073741824],
    ['1G', 1e9],
    ['128974848', 128974848],
    ['129e6', 129e6],
    ['123Mi', 123 * 1048576],
    ['.5', 0.5],
  ])('reads %s as %d base units', (text, value) => {
    expect(parseQuantity(text)).toBeCloseTo(value, 9);
  });

  it.each(['', 'abc', '1GB', '1 Gi', '--1', '1.2.3', 'Gi', '1iG'])('refuses %j', (text) => {
    expect(isQuantity(text)).toBe(false);
    expect(() => parseQuantity(text)).toThrow(RangeError);
  });

  it('gives CPU in millicores and memory in bytes, rounded up', () => {
    expect(toMillicores('500m')).toBe(500);
    expect(toMillicores('1')).toBe(1000);
    expect(toMillicores('0.0001')).toBe(1);
    expect(toBytes('1Mi')).toBe(1048576);
    expect(toBytes('1.5Ki')).toBe(1536);
  });
});
