import { isProviderError } from '@tracks/breaker';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { RequestError } from './http-errors.js';
import type { RouteContext } from './ops-routes.js';
import { abortOnClose, encodeKey, need, sendError } from './replies.js';
import { parseBody } from './validation.js';

const emailBody = z.strictObject({
  to: z.union([
    z.string().min(1, 'is required'),
    z.array(z.string().min(1, 'must not be empty')).min(1, 'needs at least one address'),
  ]),
  subject: z.string().max(998, 'is longer than 998 characters'),
  text: z.string().optional(),
  html: z.string().optional(),
});
const smsBody = z.strictObject({ to: z.string().min(1, 'is required'), body: z.string() });
const otpBody = z.strictObject({ phone: z.string().min(1, 'is required') });
const verifyBody = z.strictObject({
  phone: z.string().min(1, 'is required'),
  code: z.string().regex(/^\d{4,10}$/, 'must be 4 to 10 digits'),
});

/** The routes that use a service: email, SMS and one-time passwords, files. */
export async function registerServiceRoutes(fastify: FastifyInstance, context: RouteContext): Promise<void> {
  const { config, services } = context;

  fastify.post('/api/email', async (request, reply) => {
    const email = need(services.email, 'email');
    const body = parseBody(emailBody, request.body, {
      to: 'must be an address or a list of addresses',
    });
    if (body.text === undefined && body.html === undefined)
      throw new RequestError(400, 'text or html is required', 'text');
    const result = await email.send(
      {
        to: Array.isArray(body.to) ? body.to : [body.to],
        subject: body.subject,
        ...(body.text !== undefined && { text: body.text }),
        ...(body.html !== undefined && { html: body.html }),
      },
      abortOnClose(reply.raw),
    );
    // queued: the outbox delivers it once the provider is back (GET /api/outbox)
    if ('queued' in result) return reply.code(202).send({ queued: true, id: result.id });
    return reply.code(202).send({ provider: result.provider, messageId: result.messageId });
  });

  fastify.post('/api/sms', async (request, reply) => {
    const sms = need(services.sms, 'sms');
    const body = parseBody(smsBody, request.body);
    const result = await sms
      .sendMessage(body.to, body.body, abortOnClose(reply.raw))
      .catch((error: unknown) => {
        // the family names the number `phone`; this route's field is `to`
        if (isProviderError(error) && error.field === 'phone')
          throw new RequestError(400, error.message, 'to');
        throw error;
      });
    return reply
      .code(202)
      .send({ provider: result.provider, messageId: result.messageId, segments: result.segments });
  });

  fastify.post('/api/otp', async (request, reply) => {
    const sms = need(services.sms, 'sms');
    const body = parseBody(otpBody, request.body);
    const result = await sms.sendOtp(body.phone, abortOnClose(reply.raw));
    return reply.code(202).send({
      provider: result.provider,
      ...(result.expiresAt && { expiresAt: result.expiresAt.toISOString() }),
    });
  });

  fastify.post('/api/otp/verify', async (request, reply) => {
    const sms = need(services.sms, 'sms');
    const body = parseBody(verifyBody, request.body);
    const result = await sms.verifyOtp(body.phone, body.code, abortOnClose(reply.raw));
    return reply.code(200).send(result.valid ? { valid: true } : { valid: false, reason: result.reason });
  });

  await fastify.register(async (files) => {
    // file bodies are raw bytes of any type, JSON included, up to their own limit
    files.removeAllContentTypeParsers();
    files.addContentTypeParser(
      '*',
      { parseAs: 'buffer', bodyLimit: config.fileBodyLimitBytes },
      (_req, body, done) => done(null, body),
    );
    const keyOf = (params: unknown): string => {
      const key = (params as Record<string, string | undefined>)['*'] ?? '';
      if (key === '') throw new RequestError(400, 'a file key is required: /api/files/<key>', 'key');
      return key;
    };
    files.put('/api/files/*', async (request, reply) => {
      const storage = need(services.storage, 'storage');
      const key = keyOf(request.params);
      const body = request.body instanceof Buffer ? request.body : Buffer.alloc(0);
      const contentType = request.headers['content-type'];
      const result = await storage.put(key, new Uint8Array(body), contentType, abortOnClose(reply.raw));
      return reply
        .code(201)
        .header('location', `/api/files/${encodeKey(result.key)}`)
        .send(result);
    });
    files.get('/api/files/*', async (request, reply) => {
      const storage = need(services.storage, 'storage');
      const key = keyOf(request.params);
      const file = await storage.get(key, abortOnClose(reply.raw));
      if (file === null)
        return sendError(reply, { status: 404, body: { error: `no file at ${key}`, field: 'key' } });
      reply.type(file.contentType ?? 'application/octet-stream');
      if (file.size !== undefined) reply.header('content-length', file.size);
      // RFC 9110: an entity-tag is quoted (W/"…" when weak); stores hand out bare hashes
      if (file.etag !== undefined) reply.header('etag', quoteEtag(file.etag));
      return reply.send(file.body);
    });
    files.delete('/api/files/*', async (request, reply) => {
      const storage = need(services.storage, 'storage');
      await storage.delete(keyOf(request.params), abortOnClose(reply.raw));
      return reply.code(204).send();
    });
  });
}

function quoteEtag(etag: string): string {
  return /^(W\/)?"[^"]*"$/.test(etag) ? etag : `"${etag.replaceAll('"', '')}"`;
}
