import { type CountryCode, parsePhoneNumberWithError } from 'libphonenumber-js/max';
import { InvalidPhoneNumberError, type SmsValidationErrorOptions } from './errors.js';

/** Options of {@link normalizePhoneNumber}. */
export interface NormalizePhoneOptions extends SmsValidationErrorOptions {
  /**
   * Country whose national format is accepted for numbers written without `+` and a country
   * code (`'US'`, `'GB'`). Without it, only international numbers are accepted: a national
   * number is ambiguous, and guessing its country sends codes to strangers.
   * @default undefined (international numbers only)
   */
  defaultCountry?: CountryCode;
}

// Spaces, dots, dashes, slashes and parentheses are how people write numbers; anything else
// (letters, control characters, a second `+`) makes the input suspect rather than formatted.
const ALLOWED = /^\+?[0-9 ().\-/\u00a0]+$/;
const MAX_INPUT_LENGTH = 40;

/**
 * Validates a phone number with libphonenumber-js (full metadata) and returns it in E.164
 * (`+14155552671`). Throws {@link InvalidPhoneNumberError} for anything that is not a valid,
 * dialable number: wrong length for its country, unknown country code, letters (`1-800-FLOWERS`
 * is refused: vanity numbers are for dialling by hand), extensions, or a national number
 * without `defaultCountry`.
 */
export function normalizePhoneNumber(phone: string, options: NormalizePhoneOptions = {}): string {
  if (typeof phone !== 'string' || phone.length === 0) {
    throw new InvalidPhoneNumberError('empty', options);
  }
  if (phone.length > MAX_INPUT_LENGTH || !ALLOWED.test(phone)) {
    throw new InvalidPhoneNumberError('only digits, spaces, ( ) . - / and a leading + are allowed', options);
  }
  if (!phone.startsWith('+') && options.defaultCountry === undefined) {
    throw new InvalidPhoneNumberError(
      'not in international (E.164) form: it must start with + and a country code',
      options,
    );
  }
  let parsed: ReturnType<typeof parsePhoneNumberWithError>;
  try {
    parsed = options.defaultCountry
      ? parsePhoneNumberWithError(phone, { defaultCountry: options.defaultCountry, extract: false })
      : parsePhoneNumberWithError(phone, { extract: false });
  } catch (error) {
    throw new InvalidPhoneNumberError(`cannot be parsed (${(error as Error).message})`, options);
  }
  if (parsed.ext !== undefined) {
    throw new InvalidPhoneNumberError('extensions cannot receive SMS', options);
  }
  if (!parsed.isValid()) {
    throw new InvalidPhoneNumberError('not a valid number for its country', options);
  }
  return parsed.number;
}

/** True when {@link normalizePhoneNumber} would accept `phone`. */
export function isValidPhoneNumber(phone: string, options: NormalizePhoneOptions = {}): boolean {
  try {
    normalizePhoneNumber(phone, options);
    return true;
  } catch {
    return false;
  }
}

/**
 * Masks a number for logs, keeping the country code and the last four digits:
 * `+14155554567` → `+1******4567`. Input that does not parse keeps only its last four digits.
 */
export function maskPhoneNumber(phone: string): string {
  const digits = phone.replace(/\D/g, '');
  const last = digits.slice(-4);
  try {
    const parsed = parsePhoneNumberWithError(phone, { extract: false });
    const national = String(parsed.nationalNumber);
    return `+${parsed.countryCallingCode}${'*'.repeat(Math.max(0, national.length - 4))}${national.slice(-4)}`;
  } catch {
    return `${'*'.repeat(Math.max(0, digits.length - 4))}${last}`;
  }
}
