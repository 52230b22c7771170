import { InvalidMessageError, type SmsValidationErrorOptions } from './errors.js';

/** How a body travels: 7-bit GSM 03.38 septets, or UTF-16 (UCS-2) when any character is not GSM. */
export type SmsEncoding = 'GSM-7' | 'UCS-2';

/** What {@link countSegments} found. */
export interface SegmentCount {
  /** The encoding the body needs. */
  readonly encoding: SmsEncoding;
  /** How many SMS the body is split into. */
  readonly segments: number;
  /** Septets (GSM-7, extension characters count two) or UTF-16 code units (UCS-2). */
  readonly units: number;
}

// GSM 03.38 default alphabet, minus ESC (0x1B, the extension table's prefix) — LF and CR are in it.
const GSM_BASIC = new Set(
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà',
);
// The extension table: each costs an escape septet plus its own. (Form feed is in it too, but it
// is a control character and refused before counting.)
const GSM_EXTENSION = new Set('^{}\\[~]|€');

const SINGLE_GSM = 160;
const CONCAT_GSM = 153; // 7 septets of each part go to the concatenation header
const SINGLE_UCS2 = 70;
const CONCAT_UCS2 = 67;

/**
 * Counts the SMS segments a body takes, as the network splits it: one segment of 160 septets
 * (GSM-7) or 70 UTF-16 units (UCS-2); longer bodies in parts of 153 or 67, where an extension
 * character's escape pair and a surrogate pair (an emoji) are never split across two parts.
 */
export function countSegments(body: string): SegmentCount {
  let gsm = true;
  let septets = 0;
  for (const char of body) {
    if (GSM_BASIC.has(char)) septets += 1;
    else if (GSM_EXTENSION.has(char)) septets += 2;
    else {
      gsm = false;
      break;
    }
  }
  if (gsm) {
    if (septets <= SINGLE_GSM) return { encoding: 'GSM-7', segments: septets === 0 ? 0 : 1, units: septets };
    return {
      encoding: 'GSM-7',
      segments: pack(body, CONCAT_GSM, (c) => (GSM_EXTENSION.has(c) ? 2 : 1)),
      units: septets,
    };
  }
  const units = body.length;
  if (units <= SINGLE_UCS2) return { encoding: 'UCS-2', segments: 1, units };
  return { encoding: 'UCS-2', segments: pack(body, CONCAT_UCS2, (c) => c.length), units };
}

// Greedy packing by code point: a character that does not fit in what is left of a part starts
// the next one, which is how handsets and providers split.
function pack(body: string, size: number, cost: (char: string) => number): number {
  let segments = 1;
  let used = 0;
  for (const char of body) {
    const c = cost(char);
    if (used + c > size) {
      segments += 1;
      used = 0;
    }
    used += c;
  }
  return segments;
}

/** Options of {@link validateSmsBody}. */
export interface ValidateBodyOptions extends SmsValidationErrorOptions {
  /**
   * The most segments one message may take; longer bodies are refused, not truncated.
   * @default 10
   */
  maxSegments?: number;
}

// C0 controls except LF and CR (both are in the GSM alphabet and mean a new line), DEL, C1
// controls, and the bidirectional overrides that make a link read differently than it goes.
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const FORBIDDEN = /[\u0000-\u0009\u000b\u000c\u000e-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

/** The default segment cap of {@link validateSmsBody}. */
export const DEFAULT_MAX_SEGMENTS = 10;

/**
 * Checks a body before it is sent and returns its segment count. Throws
 * {@link InvalidMessageError} for an empty body, control characters, unpaired surrogates, or
 * more than `maxSegments` segments.
 */
export function validateSmsBody(body: string, options: ValidateBodyOptions = {}): SegmentCount {
  if (typeof body !== 'string' || body.length === 0) throw new InvalidMessageError('empty', options);
  if (FORBIDDEN.test(body)) throw new InvalidMessageError('control characters are not allowed', options);
  if (!isWellFormed(body)) throw new InvalidMessageError('unpaired surrogate (broken UTF-16)', options);
  const count = countSegments(body);
  const max = options.maxSegments ?? DEFAULT_MAX_SEGMENTS;
  if (count.segments > max) {
    throw new InvalidMessageError(
      `${count.segments} segments (${count.encoding}, ${count.units} units) is more than the cap of ${max}`,
      options,
    );
  }
  return count;
}

function isWellFormed(text: string): boolean {
  // String.prototype.isWellFormed is Node 20+, but not in every TypeScript lib this compiles with
  return (text as string & { isWellFormed(): boolean }).isWellFormed();
}
