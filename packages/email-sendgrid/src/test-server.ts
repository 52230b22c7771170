// A local stand-in for SendGrid's v3 Mail Send API over node:http on 127.0.0.1: a JSON POST to
// /v3/mail/send with a Bearer key in, 202 with `X-Message-Id` (or SendGrid's `{ errors: [...] }`
// bodies and rate-limit headers) out. Tests only: not in the published entry.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ReceivedAddress, ReceivedMessage } from '@tracks/email/testing';

/** What the server does with a send request. */
export type SendGridReply =
  | { kind: 'ok' }
  | {
      kind: 'error';
      status: number;
      errors: { message: string; field?: string | null; help?: string | null }[];
      headers?: Record<string, string>;
    }
  | { kind: 'hang' }
  | { kind: 'reset' }
  | { kind: 'no-message-id' };

/** One message the server accepted, parsed, with the SendGrid-specific parts beside the contract's. */
export interface SendGridReceivedMessage extends ReceivedMessage {
  /** The request's `custom_args`. */
  readonly customArgs: Record<string, string>;
  /** The JSON body as sent. */
  readonly body: Record<string, unknown>;
}

/** One request as the server saw it. */
export interface SendGridRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: unknown;
  /** What the server did with it. */
  readonly outcome: SendGridReply['kind'] | 'refused';
}

/** A running SendGrid stand-in. */
export interface SendGridTestServer {
  /** `http://127.0.0.1:<port>/`, for the adapter's `baseUrl`. */
  readonly url: string;
  /** Every request to /v3/mail/send, in order. */
  readonly requests: SendGridRequest[];
  /** Every accepted message, in order. */
  readonly received: SendGridReceivedMessage[];
  /** API keys the server accepts; any other gets 401. */
  readonly apiKeys: Set<string>;
  /** Recipients (lower case) answered with a 400 naming their field. */
  readonly rejectedRecipients: Set<string>;
  /** Replies for the next send requests, used in order; after them, `fallback`. */
  readonly queue: SendGridReply[];
  /** The reply once the queue is empty. */
  fallback: SendGridReply;
  /** Forgets requests, messages, faults and replies (the accepted keys return to the first set). */
  reset(): void;
  /** Stops listening and drops every open (or hung) connection. */
  close(): Promise<void>;
}

/** Options of {@link startSendGridServer}. */
export interface SendGridServerOptions {
  /**
   * API keys accepted.
   * @default ['SG.tracks-test.key']
   */
  apiKeys?: string[];
}

interface SendGridAddressJson {
  email?: unknown;
  name?: unknown;
}

/** Starts a SendGrid stand-in on 127.0.0.1 with an ephemeral port. */
export async function startSendGridServer(options: SendGridServerOptions = {}): Promise<SendGridTestServer> {
  const initialKeys = options.apiKeys ?? ['SG.tracks-test.key'];
  const requests: SendGridRequest[] = [];
  const received: SendGridReceivedMessage[] = [];
  const queue: SendGridReply[] = [];
  const apiKeys = new Set(initialKeys);
  const rejectedRecipients = new Set<string>();
  const state: { fallback: SendGridReply } = { fallback: { kind: 'ok' } };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { errors: [{ field: null, message: String(error) }] });
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    if (req.method !== 'POST' || req.url !== '/v3/mail/send') {
      return sendJson(res, 404, { errors: [{ field: null, message: 'not found' }] });
    }
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      body = undefined;
    }
    const record = (outcome: SendGridRequest['outcome']): void => {
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body, outcome });
    };

    const key = /^Bearer (.+)$/.exec(String(req.headers.authorization ?? ''))?.[1];
    if (key === undefined || !apiKeys.has(key)) {
      record('refused');
      return sendJson(res, 401, {
        errors: [
          {
            field: null,
            message: 'The provided authorization grant is invalid, expired, or revoked',
            help: null,
          },
        ],
      });
    }
    if (typeof body !== 'object' || body === null) {
      record('refused');
      return sendJson(res, 400, {
        errors: [{ field: null, message: 'Bad Request', help: null }],
      });
    }
    const reply = queue.shift() ?? state.fallback;
    if (reply.kind !== 'ok') record(reply.kind);
    switch (reply.kind) {
      case 'hang':
        return; // never answers; close() drops the socket
      case 'reset':
        req.socket.resetAndDestroy();
        return;
      case 'error':
        return sendJson(res, reply.status, { errors: reply.errors }, reply.headers);
      case 'no-message-id':
        res.writeHead(202, { 'content-length': 0 });
        res.end();
        return;
      case 'ok':
        break;
    }

    const json = body as Record<string, unknown>;
    const problem = checkRequest(json, rejectedRecipients);
    if (problem !== undefined) {
      record('refused');
      return sendJson(res, 400, { errors: [problem] });
    }
    record('ok');
    const messageId = randomBytes(16).toString('base64url').slice(0, 22);
    received.push({ ...parseMail(json), messageId });
    res.writeHead(202, { 'x-message-id': messageId, 'content-length': 0 });
    res.end();
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/`,
    requests,
    received,
    apiKeys,
    rejectedRecipients,
    queue,
    get fallback() {
      return state.fallback;
    },
    set fallback(reply: SendGridReply) {
      state.fallback = reply;
    },
    reset() {
      requests.length = 0;
      received.length = 0;
      queue.length = 0;
      rejectedRecipients.clear();
      apiKeys.clear();
      for (const key of initialKeys) apiKeys.add(key);
      state.fallback = { kind: 'ok' };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The `Retry-After` and `X-RateLimit-*` headers of SendGrid's 429, resetting `seconds` from `now`. */
export function rateLimitHeaders(seconds: number, now: number = Date.now()): Record<string, string> {
  return {
    'retry-after': String(seconds),
    'x-ratelimit-limit': '600',
    'x-ratelimit-remaining': '0',
    'x-ratelimit-reset': String(Math.ceil(now / 1000) + seconds),
  };
}

// the few checks of SendGrid's that the tests lean on: a sender, unique recipients, content
function checkRequest(
  body: Record<string, unknown>,
  rejected: Set<string>,
): { message: string; field: string; help: string | null } | undefined {
  const from = body.from as SendGridAddressJson | undefined;
  if (typeof from?.email !== 'string') {
    return { message: 'The from object must be provided for every email send.', field: 'from', help: null };
  }
  const personalizations = Array.isArray(body.personalizations) ? body.personalizations : [];
  const seen = new Set<string>();
  for (const [p, personalization] of personalizations.entries()) {
    for (const kind of ['to', 'cc', 'bcc'] as const) {
      const list = (personalization as Record<string, unknown>)[kind];
      for (const [i, address] of (Array.isArray(list) ? list : []).entries()) {
        const email = String((address as SendGridAddressJson).email ?? '').toLowerCase();
        if (rejected.has(email)) {
          return {
            message: 'Does not contain a valid address.',
            field: `personalizations.${p}.${kind}.${i}.email`,
            help: 'http://sendgrid.com/docs/API_Reference/Web_API_v3/Mail/errors.html#message.personalizations.to',
          };
        }
        if (seen.has(email)) {
          return {
            message:
              'Each email address in the personalization block should be unique between to, cc, and bcc.',
            field: `personalizations.${p}`,
            help: null,
          };
        }
        seen.add(email);
      }
    }
  }
  if (!Array.isArray(body.content) || body.content.length === 0) {
    return {
      message: 'Unless a valid template_id is provided, the content parameter is required.',
      field: 'content',
      help: null,
    };
  }
  return undefined;
}

function address(value: unknown): ReceivedAddress {
  const a = (value ?? {}) as SendGridAddressJson;
  return {
    address: typeof a.email === 'string' ? a.email : '',
    ...(typeof a.name === 'string' && a.name.length > 0 ? { name: a.name } : {}),
  };
}

function addresses(value: unknown): ReceivedAddress[] {
  return Array.isArray(value) ? value.map(address) : [];
}

function parseMail(body: Record<string, unknown>): Omit<SendGridReceivedMessage, 'messageId'> {
  const personalization = (Array.isArray(body.personalizations) ? body.personalizations[0] : {}) as Record<
    string,
    unknown
  >;
  const content = (Array.isArray(body.content) ? body.content : []) as { type?: unknown; value?: unknown }[];
  const part = (type: string): string | undefined => {
    const value = content.find((c) => c.type === type)?.value;
    return typeof value === 'string' ? value : undefined;
  };
  const text = part('text/plain');
  const html = part('text/html');
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries((body.headers ?? {}) as Record<string, unknown>)) {
    headers[name.toLowerCase()] = String(value);
  }
  const attachments = (Array.isArray(body.attachments) ? body.attachments : []) as Record<string, unknown>[];
  const customArgs: Record<string, string> = {};
  for (const [name, value] of Object.entries((body.custom_args ?? {}) as Record<string, unknown>)) {
    customArgs[name] = String(value);
  }
  return {
    from: address(body.from),
    to: addresses(personalization.to),
    cc: addresses(personalization.cc),
    bcc: addresses(personalization.bcc),
    ...(body.reply_to === undefined ? {} : { replyTo: address(body.reply_to) }),
    subject: typeof body.subject === 'string' ? body.subject : '',
    ...(text === undefined ? {} : { text }),
    ...(html === undefined ? {} : { html }),
    headers,
    attachments: attachments.map((a) => ({
      filename: String(a.filename ?? ''),
      contentType: String(a.type ?? ''),
      content: new Uint8Array(Buffer.from(String(a.content ?? ''), 'base64')),
      ...(typeof a.content_id === 'string' ? { contentId: a.content_id } : {}),
    })),
    customArgs,
    body,
  };
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
