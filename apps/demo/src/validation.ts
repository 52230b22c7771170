import type { z } from 'zod';
import { RequestError } from './http-errors.js';

// what a person reads for zod's own type errors: "subject must be a string", not
// "subject: Invalid input: expected string, received number"
const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
  array: 'a list',
  object: 'an object',
};

/**
 * Parses a request body with a zod schema; the first problem becomes a 400 naming its field
 * (`field`), with a message a person can act on: "subject is required", "to must be an address
 * or a list of addresses". `unions` words the problem of a field that takes several shapes.
 */
export function parseBody<S extends z.ZodType>(
  schema: S,
  body: unknown,
  unions: Readonly<Record<string, string>> = {},
): z.output<S> {
  // text/plain bodies reach here as strings (Fastify parses them); anything else unknown is a 415
  if (typeof body === 'string' || body === undefined) {
    throw new RequestError(
      400,
      'the request body must be a JSON object, sent with the header Content-Type: application/json',
    );
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new RequestError(400, 'the request body must be a JSON object');
  }
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  if (issue === undefined) throw new RequestError(400, 'invalid request');
  // `to[2]` for the third recipient, as @tracks/email names it
  const field =
    issue.path.reduce<string>(
      (name, key) =>
        typeof key === 'number' ? `${name}[${key}]` : name === '' ? String(key) : `${name}.${String(key)}`,
      '',
    ) || undefined;
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys;
    throw new RequestError(400, `unknown field${keys.length > 1 ? 's' : ''}: ${keys.join(', ')}`, keys[0]);
  }
  const missing = valueAt(body, issue.path) === undefined;
  let message: string;
  if (missing && (issue.code === 'invalid_type' || issue.code === 'invalid_union')) message = 'is required';
  else if (issue.code === 'invalid_union') {
    const expected = issue.errors.flatMap((errors) =>
      errors.flatMap((e) => (e.code === 'invalid_type' ? [TYPE_NAMES[e.expected] ?? e.expected] : [])),
    );
    message =
      (field !== undefined ? unions[field] : undefined) ??
      (expected.length > 0 ? `must be ${expected.join(' or ')}` : 'is not valid');
  } else if (issue.code === 'invalid_type')
    message = `must be ${TYPE_NAMES[issue.expected] ?? issue.expected}`;
  else message = issue.message;
  throw new RequestError(400, field === undefined ? message : `${field} ${message}`, field);
}

function valueAt(body: unknown, path: readonly PropertyKey[]): unknown {
  let value = body;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}
