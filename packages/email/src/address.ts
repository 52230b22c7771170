import emailAddresses from 'email-addresses';

/** One mailbox, as {@link parseAddress} understood it. */
export interface ParsedAddress {
  /** The display name, decoded from its RFC 5322 quoting; absent when there is none. */
  readonly name?: string;
  /** `local@domain` as written (the domain may be Unicode). */
  readonly address: string;
  /** The local part (before the `@`). Always ASCII: see {@link parseAddress}. */
  readonly local: string;
  /** The domain as written. */
  readonly domain: string;
  /** The domain in its ASCII (Punycode, IDNA) form, lower-cased: what goes on the wire. */
  readonly asciiDomain: string;
  /** `local@asciiDomain`. */
  readonly asciiAddress: string;
}

/** Why {@link parseAddress} refused an input. */
export type AddressProblem =
  | 'not-a-mailbox'
  | 'group'
  | 'quoted-local-part'
  | 'non-ascii-local-part'
  | 'domain-literal'
  | 'bad-domain'
  | 'too-long'
  | 'line-break';

/** The outcome of {@link parseAddress}. */
export type ParseAddressResult =
  | { readonly ok: true; readonly value: ParsedAddress }
  | { readonly ok: false; readonly problem: AddressProblem };

const MAX_ADDRESS_LENGTH = 254; // RFC 5321's path limit less the angle brackets
const MAX_LOCAL_LENGTH = 64;
const MAX_DOMAIN_LENGTH = 253;
const MAX_LABEL_LENGTH = 63;

/**
 * Parses one RFC 5322 mailbox (`ann@example.com`, `Ann <ann@example.com>`,
 * `"Example, Ann" <ann@example.com>`) with the `email-addresses` grammar, then applies the
 * rules real providers enforce:
 *
 * - exactly one mailbox: no groups, no comma-separated lists, nothing after the address;
 * - display names may be Unicode (`Zoë <zoe@example.com>`);
 * - internationalised domains (`ann@exämple.de`) are accepted and converted to their
 *   IDNA/Punycode form (`asciiDomain`), which every provider accepts;
 * - non-ASCII local parts (`zoë@example.com`) are refused: they need SMTPUTF8 end to end,
 *   which SES, SendGrid and most relays do not offer, so such a message would bounce or be
 *   mangled later rather than fail here;
 * - quoted local parts and domain literals (`"a b"@x`, `a@[127.0.0.1]`) are refused: legal,
 *   but refused or mishandled by the providers we support;
 * - CR and LF are refused outright (header injection).
 */
export function parseAddress(input: string): ParseAddressResult {
  if (typeof input !== 'string') return { ok: false, problem: 'not-a-mailbox' };
  // The same few addresses (the sender above all) come back on every send, and the full RFC
  // 5322 grammar costs tens of microseconds each: remember recent answers, oldest dropped first.
  const cached = cache.get(input);
  if (cached !== undefined) return cached;
  const result = Object.freeze(parseUncached(input));
  if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value as string);
  cache.set(input, result);
  return result;
}

const CACHE_SIZE = 1000;
const cache = new Map<string, ParseAddressResult>();

function parseUncached(input: string): ParseAddressResult {
  if (input.includes('\r') || input.includes('\n')) return { ok: false, problem: 'line-break' };
  // rfc6532 admits UTF-8 in display names and domains; the local part is checked below
  // single-label domains are left to toAsciiDomain, which admits localhost alone
  const parsed = emailAddresses.parseOneAddress({ input, rfc6532: true, rejectTLD: false });
  if (parsed === null) return { ok: false, problem: 'not-a-mailbox' };
  if (parsed.type !== 'mailbox') return { ok: false, problem: 'group' };
  const localTokens = parsed.parts.local.tokens.trim();
  if (localTokens.startsWith('"')) return { ok: false, problem: 'quoted-local-part' };
  const local = parsed.local;
  if (!isAscii(local)) return { ok: false, problem: 'non-ascii-local-part' };
  if (local.length > MAX_LOCAL_LENGTH) return { ok: false, problem: 'too-long' };
  const domain = parsed.domain;
  if (domain.startsWith('[')) return { ok: false, problem: 'domain-literal' };
  const asciiDomain = toAsciiDomain(domain);
  if (asciiDomain === undefined) return { ok: false, problem: 'bad-domain' };
  const asciiAddress = `${local}@${asciiDomain}`;
  if (asciiAddress.length > MAX_ADDRESS_LENGTH) return { ok: false, problem: 'too-long' };
  const value: ParsedAddress = Object.freeze({
    address: `${local}@${domain}`,
    local,
    domain,
    asciiDomain,
    asciiAddress,
    ...(parsed.name !== null && parsed.name.length > 0 ? { name: parsed.name } : {}),
  });
  return { ok: true, value };
}

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) > 0x7e) return false;
  }
  return true;
}

// IDNA conversion through the WHATWG URL parser (UTS #46 processing, present in Node and every
// other runtime), then the DNS host-name rules the URL parser leaves to DNS: letter-digit-hyphen
// labels of 1-63 octets, no hyphen at either end, a TLD that is not all digits, at least two
// labels except for `localhost`.
function toAsciiDomain(domain: string): string | undefined {
  let host: string;
  try {
    host = new URL(`http://${domain}/`).hostname;
  } catch {
    return undefined;
  }
  if (host.length === 0 || host.length > MAX_DOMAIN_LENGTH) return undefined;
  const labels = host.split('.');
  // `localhost` is the one single-label name every resolver answers (RFC 6761): development
  // sinks such as Mailpit accept mail for it, and a typo like `rita@gmail` stays refused
  if (labels.length < 2 && host !== 'localhost') return undefined;
  for (const label of labels) {
    if (!isHostLabel(label)) return undefined;
  }
  if (/^\d+$/.test(labels[labels.length - 1] ?? '')) return undefined;
  return host;
}

function isHostLabel(label: string): boolean {
  if (label.length === 0 || label.length > MAX_LABEL_LENGTH) return false;
  if (label.startsWith('-') || label.endsWith('-')) return false;
  for (let i = 0; i < label.length; i++) {
    const c = label.charCodeAt(i);
    const ok = (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2d;
    if (!ok) return false;
  }
  return true;
}
