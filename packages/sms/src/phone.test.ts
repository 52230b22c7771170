import { isProviderError } from '@tracks/breaker';
import { describe, expect, it } from 'vitest';
import { InvalidPhoneNumberError } from './errors.js';
import { isValidPhoneNumber, maskPhoneNumber, normalizePhoneNumber } from './phone.js';

describe('normalizePhoneNumber', () => {
  it('returns E.164 for international numbers however they are written', () => {
    expect(normalizePhoneNumber('+14155552671')).toBe('+14155552671');
    expect(normalizePhoneNumber('+1 (415) 555-2671')).toBe('+14155552671');
    expect(normalizePhoneNumber('+44 20 7946 0958')).toBe('+442079460958');
    expect(normalizePhoneNumber('+33 6 12 34 56 78')).toBe('+33612345678');
  });

  it('accepts national numbers only with a default country', () => {
    expect(() => normalizePhoneNumber('(415) 555-2671')).toThrow(InvalidPhoneNumberError);
    expect(normalizePhoneNumber('(415) 555-2671', { defaultCountry: 'US' })).toBe('+14155552671');
    expect(normalizePhoneNumber('06 12 34 56 78', { defaultCountry: 'FR' })).toBe('+33612345678');
  });

  it.each([
    ['empty', ''],
    ['too short', '+1415555'],
    ['too long', '+1415555267112345'],
    ['unknown country code', '+999 1234 5678'],
    ['invalid area code', '+1 011 555 2671'],
    ['letters', '+1-800-FLOWERS'],
    ['an extension', '+1 415 555 2671 ext. 12'],
    ['two plus signs', '++14155552671'],
    ['a newline', '+14155552671\n'],
    ['an injection attempt', '+14155552671; DROP TABLE'],
    ['no country code', '4155552671'],
  ])('refuses %s', (_label, input) => {
    let error: unknown;
    try {
      normalizePhoneNumber(input);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidPhoneNumberError);
    expect(isProviderError(error)).toBe(true);
    expect(error).toMatchObject({ kind: 'invalid', scope: 'message', field: 'phone', retryable: false });
    // the number itself is personal data: it stays out of the message
    if (input.length > 6) expect((error as Error).message).not.toContain(input.trim());
  });

  it('reports the operation and provider it was given', () => {
    expect(() => normalizePhoneNumber('nope', { provider: 'sns', operation: 'sendOtp' })).toThrow(
      expect.objectContaining({ provider: 'sns', operation: 'sendOtp' }),
    );
  });

  it('refuses non-strings', () => {
    expect(() => normalizePhoneNumber(14155552671 as unknown as string)).toThrow(InvalidPhoneNumberError);
  });
});

describe('isValidPhoneNumber', () => {
  it('says whether normalizePhoneNumber would accept a number', () => {
    expect(isValidPhoneNumber('+14155552671')).toBe(true);
    expect(isValidPhoneNumber('+1415555')).toBe(false);
  });
});

describe('maskPhoneNumber', () => {
  it('keeps the country code and the last four digits', () => {
    expect(maskPhoneNumber('+14155554567')).toBe('+1******4567');
    expect(maskPhoneNumber('+442079460958')).toBe('+44******0958');
  });

  it('keeps only the last four digits of what does not parse', () => {
    expect(maskPhoneNumber('12345678')).toBe('****5678');
  });
});
