import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { toWebStream } from './body.js';

describe('toWebStream', () => {
  it('destroys the source when cancelled before the first read', async () => {
    const source = Readable.from([new Uint8Array([1, 2, 3])]);
    const stream = toWebStream(source);
    await stream.cancel();
    expect(source.destroyed).toBe(true);
  });

  it('destroys the source when cancelled mid-stream', async () => {
    const source = Readable.from([new Uint8Array([1]), new Uint8Array([2])]);
    const reader = toWebStream(source).getReader();
    expect((await reader.read()).value).toEqual(new Uint8Array([1]));
    await reader.cancel();
    expect(source.destroyed).toBe(true);
  });

  it('streams every chunk, then ends', async () => {
    const reader = toWebStream(Readable.from([new Uint8Array([1]), new Uint8Array([2, 3])])).getReader();
    const seen: number[] = [];
    for (let next = await reader.read(); !next.done; next = await reader.read()) seen.push(...next.value);
    expect(seen).toEqual([1, 2, 3]);
  });
});
