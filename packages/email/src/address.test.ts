import { describe, expect, it } from 'vitest';
import { parseAddress } from './address.js';

describe('parseAddress', () => {
  it('splits a mailbox into name, local part and domain', () => {
    expect(parseAddress('"Example, Ann" <Ann.Example+news@Example.COM>')).toEqual({
      ok: true,
      value: {
        name: 'Example, Ann',
        address: 'Ann.Example+news@Example.COM',
        local: 'Ann.Example+news',
        domain: 'Example.COM',
        asciiDomain: 'example.com',
        asciiAddress: 'Ann.Example+news@example.com',
      },
    });
  });

  it('gives an internationalised domain in its IDNA form', () => {
    const result = parseAddress('José <jose@exämple.de>');
    expect(result.ok && result.value).toMatchObject({ name: 'José', asciiAddress: 'jose@xn--exmple-cua.de' });
  });

  it('says why it refused', () => {
    expect(parseAddress('zoë@example.com')).toEqual({ ok: false, problem: 'non-ascii-local-part' });
    expect(parseAddress('team: a@example.com;')).toEqual({ ok: false, problem: 'group' });
    expect(parseAddress('"a b"@example.com')).toEqual({ ok: false, problem: 'quoted-local-part' });
    expect(parseAddress('a@[127.0.0.1]')).toEqual({ ok: false, problem: 'domain-literal' });
    expect(parseAddress('a@example.123')).toEqual({ ok: false, problem: 'bad-domain' });
    expect(parseAddress(`a@${'x'.repeat(64)}.com`)).toEqual({ ok: false, problem: 'bad-domain' });
    expect(parseAddress('a@example.com\r\n')).toEqual({ ok: false, problem: 'line-break' });
    expect(parseAddress('nobody')).toEqual({ ok: false, problem: 'not-a-mailbox' });
  });

  it('answers a repeated address from its cache with the same frozen result', () => {
    const first = parseAddress('cached@example.com');
    expect(parseAddress('cached@example.com')).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    // the cache is bounded: many distinct addresses later, answers are still right
    for (let i = 0; i < 1500; i++) parseAddress(`user${i}@example.com`);
    expect(parseAddress('cached@example.com')).toEqual(first);
  });
});
