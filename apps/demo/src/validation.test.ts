import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { RequestError } from './http-errors.js';
import { parseBody } from './validation.js';

const schema = z.strictObject({
  to: z.union([z.string().min(1, 'is required'), z.array(z.string().min(1, 'must not be empty')).min(1)]),
  subject: z.string().max(5, 'is longer than 5 characters'),
  count: z.number().optional(),
  flag: z.boolean().optional(),
});
const unions = { to: 'must be an address or a list of addresses' };

function refusal(body: unknown): { message: string; field: string | undefined } {
  try {
    parseBody(schema, body, unions);
  } catch (error) {
    if (error instanceof RequestError) return { message: error.message, field: error.field };
    throw error;
  }
  throw new Error('accepted');
}

describe('parseBody', () => {
  it('returns the parsed body', () => {
    expect(parseBody(schema, { to: 'a', subject: 's' }, unions)).toEqual({ to: 'a', subject: 's' });
  });

  it.each([
    [{ to: 'a' }, 'subject is required', 'subject'],
    [{ subject: 's' }, 'to is required', 'to'],
    [{ to: 5, subject: 's' }, 'to must be an address or a list of addresses', 'to'],
    [{ to: 'a', subject: 5 }, 'subject must be a string', 'subject'],
    [{ to: 'a', subject: 's', count: '3' }, 'count must be a number', 'count'],
    [{ to: 'a', subject: 's', flag: 'yes' }, 'flag must be true or false', 'flag'],
    [{ to: ['a', ''], subject: 's' }, 'to[1] must not be empty', 'to[1]'],
    [{ to: 'a', subject: 'longer' }, 'subject is longer than 5 characters', 'subject'],
    [{ to: 'a', subject: 's', cc: 'b' }, 'unknown field: cc', 'cc'],
  ])('words %j as "%s"', (body, message, field) => {
    expect(refusal(body)).toEqual({ message, field });
  });

  it('names the shapes of a union without its own wording', () => {
    expect(() => parseBody(schema, { to: 5, subject: 's' })).toThrow('to must be a string or a list');
  });

  it('refuses a body that is not an object', () => {
    expect(refusal([1])).toEqual({ message: 'the request body must be a JSON object', field: undefined });
  });
});
