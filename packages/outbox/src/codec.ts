// Payloads are stored as JSON text by every driver, so what a handler receives is what a fresh
// process would read back after a crash: no object identity, no functions, no class instances.
// Bytes (an email attachment's Uint8Array) survive as tagged base64.

const BYTES_TAG = '$tracks:bytes';

/** Encodes a payload for storage; throws a `TypeError` for values JSON cannot hold. */
export function encodePayload(payload: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(payload, function (this: Record<string, unknown>, key, value: unknown) {
      // JSON.stringify has already called toJSON on Buffers: read the original from the holder
      const original = this[key];
      if (original instanceof Uint8Array) return { [BYTES_TAG]: Buffer.from(original).toString('base64') };
      if (typeof value === 'bigint') throw new TypeError('a bigint cannot be stored');
      return value;
    });
  } catch (error) {
    throw new TypeError(`outbox: the payload cannot be stored as JSON (${(error as Error).message})`);
  }
  if (text === undefined) throw new TypeError('outbox: the payload cannot be stored as JSON (undefined)');
  return text;
}

/** Decodes what {@link encodePayload} stored. */
export function decodePayload(text: string): unknown {
  return JSON.parse(text, (_key, value: unknown) => {
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      const tagged = (value as Record<string, unknown>)[BYTES_TAG];
      if (typeof tagged === 'string' && Object.keys(value).length === 1) {
        return new Uint8Array(Buffer.from(tagged, 'base64'));
      }
    }
    return value;
  });
}
