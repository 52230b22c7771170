import { describe, expect, it } from 'vitest';
import {
  compareKeys,
  InvalidKeyError,
  isInvalidKeyError,
  keyProblem,
  validateKey,
  validateListLimit,
  validatePrefix,
  validatePutOptions,
  validateSignedUrlOptions,
} from './validation.js';

describe('keyProblem', () => {
  it('accepts ordinary keys, dots inside segments and up to 1024 UTF-8 bytes', () => {
    for (const key of [
      'a',
      'a/b/c.txt',
      '.env',
      'a/.hidden',
      '...',
      'x..y',
      '100%',
      'ü/日本/😀',
      'é'.repeat(512),
    ]) {
      expect(keyProblem(key), key).toBeUndefined();
    }
  });

  it('refuses what could escape a folder or confuse a URL layer', () => {
    const cases: [unknown, RegExp][] = [
      ['', /empty/],
      [42, /string/],
      ['é'.repeat(513), /1024/],
      ['a\u0000b', /control/],
      ['a\u007fb', /control/],
      ['a\u0085b', /control/],
      ['a\nb', /control/],
      ['/a', /start/],
      ['a/', /end/],
      ['a//b', /empty segments/],
      ['.', /segments/],
      ['..', /segments/],
      ['a/../b', /segments/],
      ['a/./b', /segments/],
      ['%2E%2e/a', /segments/],
      ['a\\b', /backslash/],
      ['a%2fb', /encoded/],
      ['a%5Cb', /encoded/],
      ['\ud800x', /well-formed/],
    ];
    for (const [key, reason] of cases) expect(keyProblem(key), JSON.stringify(key)).toMatch(reason);
  });
});

describe('validateKey', () => {
  it('throws an InvalidKeyError that says why, with the provider and operation', () => {
    const error = (() => {
      try {
        validateKey('a/../b', { provider: 's3', operation: 'get' });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(InvalidKeyError);
    expect(isInvalidKeyError(error)).toBe(true);
    expect(error).toMatchObject({
      kind: 'invalid',
      scope: 'message',
      retryable: false,
      field: 'key',
      provider: 's3',
      operation: 'get',
      key: 'a/../b',
    });
    expect((error as Error).message).toContain("'.' or '..'");
    expect(JSON.parse(JSON.stringify(error))).toMatchObject({ reason: expect.any(String), key: 'a/../b' });
  });

  it('escapes control characters in its message', () => {
    expect(() => validateKey('a\r\nb')).toThrow(/a\\r\\nb/);
  });
});

describe('validatePrefix', () => {
  it('accepts empty, partial and folder prefixes', () => {
    for (const prefix of ['', 'a', 'a/', 'a/b', 'a/.hid']) expect(() => validatePrefix(prefix)).not.toThrow();
  });

  it('refuses prefixes no key could start with', () => {
    for (const prefix of ['/a', 'a//', '../', 'a\u0000', 'a\\']) {
      expect(() => validatePrefix(prefix), prefix).toThrow(expect.objectContaining({ field: 'prefix' }));
    }
  });
});

describe('validatePutOptions', () => {
  it('accepts lowercase metadata names and printable values', () => {
    expect(() =>
      validatePutOptions({ metadata: { 'a-b_c1': 'Any printable / value' }, contentType: 'a/b' }),
    ).not.toThrow();
  });

  it('refuses header injection, uppercase names and oversized metadata', () => {
    const refuse = (options: Parameters<typeof validatePutOptions>[0], field: string) =>
      expect(() => validatePutOptions(options)).toThrow(expect.objectContaining({ kind: 'invalid', field }));
    refuse({ contentType: 'a/b\r\nX: y' }, 'contentType');
    refuse({ contentType: '' }, 'contentType');
    refuse({ metadata: { Name: 'x' } }, 'metadata');
    refuse({ metadata: { name: 'ü' } }, 'metadata');
    refuse({ metadata: { name: 1 as unknown as string } }, 'metadata');
    refuse({ metadata: { big: 'x'.repeat(2048) } }, 'metadata');
  });
});

describe('validateListLimit', () => {
  it('defaults to 1000 and refuses what S3 would', () => {
    expect(validateListLimit(undefined)).toBe(1000);
    expect(validateListLimit({ limit: 1 })).toBe(1);
    for (const limit of [0, -1, 1.5, 1001, Number.NaN]) {
      expect(() => validateListLimit({ limit })).toThrow(expect.objectContaining({ field: 'limit' }));
    }
    expect(() => validateListLimit({ cursor: '' })).toThrow(expect.objectContaining({ field: 'cursor' }));
  });
});

describe('validateSignedUrlOptions', () => {
  it('needs a method and an expiry from 1 s to a week', () => {
    expect(() => validateSignedUrlOptions({ method: 'GET', expiresIn: 604_800 })).not.toThrow();
    expect(() => validateSignedUrlOptions({ method: 'DELETE' as 'GET', expiresIn: 1 })).toThrow(/method/);
    expect(() => validateSignedUrlOptions({ method: 'PUT', expiresIn: 604_801 })).toThrow(/expiresIn/);
  });
});

describe('compareKeys', () => {
  it('orders keys by their UTF-8 bytes, as S3 does', () => {
    const keys = ['b', 'a', 'a/b', 'a-b', 'A', '\uffff', '😀', '\ue000', 'ab', '', 'a\u0080', 'ä'];
    const byBytes = [...keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    expect([...keys].sort(compareKeys)).toEqual(byBytes);
    // where UTF-16 order differs
    expect(compareKeys('\uffff', '😀')).toBe(-1);
    expect('\uffff' < '😀').toBe(false);
  });
});
