import { describe, expect, it } from '@jest/globals';
import { DomainException } from '../../common/domain.exception.js';
import { MAX_INPUT_LENGTH, parseAck, parseInput } from './terminal-messages.dto.js';

/** The error code a parse throws, or undefined when it accepts the payload. */
function refusal(parse: (payload: unknown) => unknown, payload: unknown): string | undefined {
  try {
    parse(payload);
    return undefined;
  } catch (error) {
    return error instanceof DomainException ? error.code : 'not a DomainException';
  }
}

describe('terminal messages', () => {
  it('takes a well-formed ack as it is', () => {
    expect(parseAck({ seq: 0 })).toEqual({ seq: 0 });
    expect(parseAck({ seq: 123456789 })).toEqual({ seq: 123456789 });
  });

  it.each([[{ seq: -1 }], [{ seq: 1.5 }], [{ seq: '12' }], [{}], [{ seq: 1, extra: true }], [null], [[1]], ['ack']])('refuses the ack %j', (payload) => {
    expect(refusal(parseAck, payload)).toBe('VALIDATION_FAILED');
  });

  it('takes well-formed input as it is', () => {
    expect(parseInput({ data: 'ls\r' })).toEqual({ data: 'ls\r' });
    expect(parseInput({ data: '', seq: 7 })).toEqual({ data: '', seq: 7 });
    expect(parseInput({ data: 'x'.repeat(MAX_INPUT_LENGTH) }).data).toHaveLength(MAX_INPUT_LENGTH);
  });

  it.each([
    ['data not a string', { data: 42 }],
    ['a negative seq', { data: 'a', seq: -2 }],
    ['a seq not a number', { data: 'a', seq: 'one' }],
    ['an unknown field', { data: 'a', type: 'input' }],
    ['no data', {}],
    ['null', null],
    ['data over the limit', { data: 'x'.repeat(MAX_INPUT_LENGTH + 1) }],
  ])('refuses input with %s', (_label, payload) => {
    expect(refusal(parseInput, payload)).toBe('VALIDATION_FAILED');
  });
});
