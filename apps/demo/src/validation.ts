import type { z } from 'zod';
import { RequestError } from './http-errors.js';

/**
 * Parses a request body with a zod schema; the first problem becomes a 400 naming its field,
 * so a person (or a form) knows what to fix.
 */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new RequestError(400, 'the request body must be a JSON object');
  }
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue?.path.map(String).join('.') || undefined;
  if (issue?.code === 'unrecognized_keys') {
    const keys = (issue as { keys?: string[] }).keys ?? [];
    throw new RequestError(400, `unknown field${keys.length > 1 ? 's' : ''}: ${keys.join(', ')}`, keys[0]);
  }
  const message = issue?.message ?? 'invalid request';
  throw new RequestError(400, field === undefined ? message : `${field}: ${message}`, field);
}
