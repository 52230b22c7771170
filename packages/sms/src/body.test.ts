import { describe, expect, it } from 'vitest';
import { countSegments, validateSmsBody } from './body.js';
import { InvalidMessageError } from './errors.js';

describe('countSegments', () => {
  it('fits 160 GSM-7 characters in one segment and splits longer bodies in parts of 153', () => {
    expect(countSegments('a'.repeat(160))).toEqual({ encoding: 'GSM-7', segments: 1, units: 160 });
    expect(countSegments('a'.repeat(161))).toEqual({ encoding: 'GSM-7', segments: 2, units: 161 });
    expect(countSegments('a'.repeat(306))).toMatchObject({ segments: 2 });
    expect(countSegments('a'.repeat(307))).toMatchObject({ segments: 3 });
  });

  it('counts extension-table characters as two septets', () => {
    expect(countSegments('€'.repeat(80))).toEqual({ encoding: 'GSM-7', segments: 1, units: 160 });
    expect(countSegments(`${'€'.repeat(80)}a`)).toMatchObject({ encoding: 'GSM-7', segments: 2, units: 161 });
    expect(countSegments('^{}\\[~]|')).toMatchObject({ encoding: 'GSM-7', units: 16 });
  });

  it('never splits an escape pair across two parts', () => {
    // 152 septets, then a two-septet character that must move to part two
    expect(countSegments(`${'a'.repeat(152)}€${'a'.repeat(152)}`)).toMatchObject({ segments: 3, units: 306 });
    expect(countSegments(`${'a'.repeat(151)}€${'a'.repeat(153)}`)).toMatchObject({ segments: 2, units: 306 });
  });

  it('keeps GSM letters (accents, Greek capitals, newlines) in GSM-7', () => {
    expect(countSegments('Café ÄÖÜ ΔΦΓ\nok\r')).toMatchObject({ encoding: 'GSM-7' });
  });

  it('switches to UCS-2 for any other character: 70 units, then parts of 67', () => {
    expect(countSegments('ç'.repeat(70))).toEqual({ encoding: 'UCS-2', segments: 1, units: 70 });
    expect(countSegments('ç'.repeat(71))).toEqual({ encoding: 'UCS-2', segments: 2, units: 71 });
    expect(countSegments('ç'.repeat(134))).toMatchObject({ segments: 2 });
    expect(countSegments('ç'.repeat(135))).toMatchObject({ segments: 3 });
    expect(countSegments('Привет')).toMatchObject({ encoding: 'UCS-2', units: 6 });
  });

  it('counts emoji as two units and never splits a surrogate pair', () => {
    expect(countSegments('😀'.repeat(35))).toEqual({ encoding: 'UCS-2', segments: 1, units: 70 });
    // 66 units, then a pair that does not fit in the 67-unit part: 134 units take three parts
    expect(countSegments(`${'ç'.repeat(66)}😀${'ç'.repeat(66)}`)).toMatchObject({ segments: 3, units: 134 });
    expect(countSegments(`${'ç'.repeat(65)}😀${'ç'.repeat(67)}`)).toMatchObject({ segments: 2, units: 134 });
  });
});

describe('validateSmsBody', () => {
  it('returns the segment count of a good body', () => {
    expect(validateSmsBody('Your code is 123456')).toMatchObject({ encoding: 'GSM-7', segments: 1 });
  });

  it.each([
    ['NUL', 'a\u0000b'],
    ['ESC', 'a\u001bb'],
    ['tab', 'a\tb'],
    ['form feed', 'a\fb'],
    ['DEL', 'a\u007fb'],
    ['a C1 control', 'a\u0085b'],
    ['a bidi override', 'pay \u202eaksed.com'],
  ])('refuses %s', (_label, body) => {
    expect(() => validateSmsBody(body)).toThrow(InvalidMessageError);
    expect(() => validateSmsBody(body)).toThrow(/control characters/);
  });

  it('allows new lines', () => {
    expect(validateSmsBody('line one\nline two\r\n')).toMatchObject({ segments: 1 });
  });

  it('refuses empty bodies and broken UTF-16', () => {
    expect(() => validateSmsBody('')).toThrow(InvalidMessageError);
    expect(() => validateSmsBody('a\ud800b')).toThrow(/surrogate/);
  });

  it('caps bodies at 10 segments by default, and at maxSegments when given', () => {
    expect(validateSmsBody('a'.repeat(1530))).toMatchObject({ segments: 10 });
    expect(() => validateSmsBody('a'.repeat(1531))).toThrow(/11 segments .* cap of 10/);
    expect(() => validateSmsBody('a'.repeat(161), { maxSegments: 1 })).toThrow(InvalidMessageError);
    expect(() => validateSmsBody('ç'.repeat(671))).toThrow(InvalidMessageError);
  });

  it('is a message-scoped invalid error on field body', () => {
    expect(() => validateSmsBody('', { provider: 'twilio' })).toThrow(
      expect.objectContaining({ kind: 'invalid', scope: 'message', field: 'body', provider: 'twilio' }),
    );
  });
});
