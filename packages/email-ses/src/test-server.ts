// A local stand-in for SES v1 that speaks its Query protocol over node:http on 127.0.0.1: a
// form-encoded, SigV4-signed POST in, `<SendEmailResponse>` / `<SendRawEmailResponse>` /
// `<ErrorResponse>` XML out, each with a RequestId. SendRawEmail's MIME is decoded with
// mailparser, so tests compare attachment bytes exactly. Tests only: not in the published entry.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ReceivedAddress, ReceivedMessage } from '@tracks/email/testing';
import { type AddressObject, type ParsedMail, simpleParser } from 'mailparser';

/** What the server does with a send request. */
export type SesReply =
  | { kind: 'ok' }
  | { kind: 'error'; status: number; code: string; message: string; type?: 'Sender' | 'Receiver' }
  | { kind: 'hang' }
  | { kind: 'reset' }
  | { kind: 'no-message-id' };

/** One message the server accepted, parsed, with the SES-specific parts beside the contract's. */
export interface SesReceivedMessage extends ReceivedMessage {
  /** `SendEmail` or `SendRawEmail`. */
  readonly action: string;
  /** The request's message tags (`Tags.member.N`). */
  readonly tags: Record<string, string>;
  /** The request's `ConfigurationSetName`. */
  readonly configurationSetName?: string;
  /** The decoded `RawMessage.Data` of a SendRawEmail. */
  readonly raw?: Buffer;
}

/** One request as the server saw it. */
export interface SesRequest {
  readonly action: string;
  readonly params: Readonly<Record<string, string>>;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** What the server did with it. */
  readonly outcome: SesReply['kind'] | 'refused';
}

/** A running SES stand-in. */
export interface SesTestServer {
  /** `http://127.0.0.1:<port>`, for the client's `endpoint`. */
  readonly url: string;
  /** Every request, in order. */
  readonly requests: SesRequest[];
  /** Every accepted message, in order. */
  readonly received: SesReceivedMessage[];
  /** Access key ids the server accepts; any other gets `InvalidClientTokenId` (403). */
  readonly accessKeyIds: Set<string>;
  /** Recipients (bare addresses, lower case) answered with `MessageRejected`. */
  readonly rejectedRecipients: Set<string>;
  /** Replies for the next send requests, used in order; after them, `fallback`. */
  readonly queue: SesReply[];
  /** The reply once the queue is empty. */
  fallback: SesReply;
  /** Forgets requests, messages, faults and replies (the accepted keys return to the first set). */
  reset(): void;
  /** Stops listening and drops every open (or hung) connection. */
  close(): Promise<void>;
}

/** Options of {@link startSesServer}. */
export interface SesServerOptions {
  /**
   * Access key ids accepted.
   * @default ['AKIDTRACKSTEST']
   */
  accessKeyIds?: string[];
}

const XMLNS = 'http://ses.amazonaws.com/doc/2010-12-01/';

/** Starts an SES stand-in on 127.0.0.1 with an ephemeral port. */
export async function startSesServer(options: SesServerOptions = {}): Promise<SesTestServer> {
  const initialKeys = options.accessKeyIds ?? ['AKIDTRACKSTEST'];
  const requests: SesRequest[] = [];
  const received: SesReceivedMessage[] = [];
  const queue: SesReply[] = [];
  const accessKeyIds = new Set(initialKeys);
  const rejectedRecipients = new Set<string>();
  const state: { fallback: SesReply } = { fallback: { kind: 'ok' } };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) sendError(res, randomUUID(), internalError(error));
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const params = Object.fromEntries(new URLSearchParams(body.toString('utf8')));
    const action = params.Action ?? '';
    const requestId = randomUUID();
    const record = (outcome: SesRequest['outcome']): void => {
      requests.push({ action, params, headers: req.headers, outcome });
    };

    const accessKeyId = /Credential=([^/]+)\//.exec(String(req.headers.authorization ?? ''))?.[1];
    if (accessKeyId === undefined || !accessKeyIds.has(accessKeyId)) {
      record('refused');
      return sendError(res, requestId, {
        kind: 'error',
        status: 403,
        code: 'InvalidClientTokenId',
        message: 'The security token included in the request is invalid.',
      });
    }
    if (action !== 'SendEmail' && action !== 'SendRawEmail') {
      record('refused');
      return sendError(res, requestId, {
        kind: 'error',
        status: 400,
        code: 'InvalidAction',
        message: `Could not find operation ${action} for version 2010-12-01`,
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
        return sendError(res, requestId, reply);
      case 'no-message-id':
        return sendXml(
          res,
          200,
          `<${action}Response xmlns="${XMLNS}"><${action}Result/>${metadata(requestId)}</${action}Response>`,
          requestId,
        );
      case 'ok':
        break;
    }

    const message = await parseSend(action, params);
    const refused = [...message.to, ...message.cc, ...message.bcc].find((a) =>
      rejectedRecipients.has(a.address.toLowerCase()),
    );
    if (refused !== undefined) {
      record('refused');
      return sendError(res, requestId, {
        kind: 'error',
        status: 400,
        code: 'MessageRejected',
        message: `Email address is not verified. The following identities failed the check in region US-EAST-1: ${refused.address}`,
      });
    }
    record('ok');
    const messageId = `0100${randomUUID().replace(/-/g, '')}-000000`;
    received.push({ ...message, messageId });
    return sendXml(
      res,
      200,
      `<${action}Response xmlns="${XMLNS}"><${action}Result><MessageId>${messageId}</MessageId></${action}Result>${metadata(
        requestId,
      )}</${action}Response>`,
      requestId,
    );
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    received,
    accessKeyIds,
    rejectedRecipients,
    queue,
    get fallback() {
      return state.fallback;
    },
    set fallback(reply: SesReply) {
      state.fallback = reply;
    },
    reset() {
      requests.length = 0;
      received.length = 0;
      queue.length = 0;
      rejectedRecipients.clear();
      accessKeyIds.clear();
      for (const key of initialKeys) accessKeyIds.add(key);
      state.fallback = { kind: 'ok' };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function internalError(error: unknown): Extract<SesReply, { kind: 'error' }> {
  return { kind: 'error', status: 500, code: 'InternalFailure', message: String(error) };
}

function metadata(requestId: string): string {
  return `<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata>`;
}

function sendError(
  res: ServerResponse,
  requestId: string,
  reply: Extract<SesReply, { kind: 'error' }>,
): void {
  const type = reply.type ?? (reply.status >= 500 ? 'Receiver' : 'Sender');
  sendXml(
    res,
    reply.status,
    `<ErrorResponse xmlns="${XMLNS}"><Error><Type>${type}</Type><Code>${escapeXml(reply.code)}</Code><Message>${escapeXml(
      reply.message,
    )}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
    requestId,
  );
}

// SES sends the request id both in the body and as a header; the SDK reads the header
function sendXml(res: ServerResponse, status: number, xml: string, requestId: string): void {
  res.writeHead(status, {
    'content-type': 'text/xml',
    'content-length': Buffer.byteLength(xml),
    'x-amzn-requestid': requestId,
  });
  res.end(xml);
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function members(params: Readonly<Record<string, string>>, prefix: string): string[] {
  const out: string[] = [];
  for (let i = 1; params[`${prefix}.member.${i}`] !== undefined; i++)
    out.push(params[`${prefix}.member.${i}`]!);
  return out;
}

function tagsOf(params: Readonly<Record<string, string>>): Record<string, string> {
  const tags: Record<string, string> = {};
  for (let i = 1; params[`Tags.member.${i}.Name`] !== undefined; i++) {
    tags[params[`Tags.member.${i}.Name`]!] = params[`Tags.member.${i}.Value`] ?? '';
  }
  return tags;
}

function addresses(value: AddressObject | AddressObject[] | undefined): ReceivedAddress[] {
  const list = value === undefined ? [] : Array.isArray(value) ? value : [value];
  return list.flatMap((group) =>
    group.value.map((a) => ({ address: a.address ?? '', ...(a.name ? { name: a.name } : {}) })),
  );
}

// SendEmail's addresses are header-style mailboxes (names as MIME encoded-words): let the same
// parser that reads the raw messages decode them, so both actions are checked alike
async function parseMailboxes(list: string[]): Promise<ReceivedAddress[]> {
  if (list.length === 0) return [];
  const mail = await simpleParser(Buffer.from(`To: ${list.join(', ')}\r\n\r\n`, 'utf8'));
  return addresses(mail.to);
}

async function parseSend(
  action: string,
  params: Readonly<Record<string, string>>,
): Promise<SesReceivedMessage> {
  const tags = tagsOf(params);
  const configurationSetName = params.ConfigurationSetName;
  const common = {
    action,
    tags,
    ...(configurationSetName === undefined ? {} : { configurationSetName }),
  };
  const rawData = params['RawMessage.Data'];
  if (action === 'SendEmail' || rawData === undefined) {
    const [from] = await parseMailboxes([params.Source ?? '']);
    const [replyTo] = await parseMailboxes(members(params, 'ReplyToAddresses'));
    const text = params['Message.Body.Text.Data'];
    const html = params['Message.Body.Html.Data'];
    return {
      ...common,
      from: from ?? { address: '' },
      to: await parseMailboxes(members(params, 'Destination.ToAddresses')),
      cc: await parseMailboxes(members(params, 'Destination.CcAddresses')),
      bcc: await parseMailboxes(members(params, 'Destination.BccAddresses')),
      ...(replyTo === undefined ? {} : { replyTo }),
      subject: params['Message.Subject.Data'] ?? '',
      ...(text === undefined ? {} : { text }),
      ...(html === undefined ? {} : { html }),
      headers: {},
      attachments: [],
    };
  }
  const raw = Buffer.from(rawData, 'base64');
  const mail: ParsedMail = await simpleParser(raw);
  const to = addresses(mail.to);
  const cc = addresses(mail.cc);
  const visible = new Set([...to, ...cc].map((a) => a.address.toLowerCase()));
  const headers: Record<string, string> = {};
  for (const line of mail.headerLines) {
    const decoded = mail.headers.get(line.key);
    headers[line.key] =
      typeof decoded === 'string' ? decoded : line.line.slice(line.line.indexOf(':') + 1).trim();
  }
  const [from] = addresses(mail.from);
  const [replyTo] = addresses(mail.replyTo);
  return {
    ...common,
    raw,
    from: from ?? { address: '' },
    to,
    cc,
    bcc: members(params, 'Destinations')
      .filter((d) => !visible.has(d.toLowerCase()))
      .map((address) => ({ address })),
    ...(replyTo === undefined ? {} : { replyTo }),
    subject: mail.subject ?? '',
    ...(mail.text === undefined ? {} : { text: mail.text }),
    ...(typeof mail.html === 'string' ? { html: mail.html } : {}),
    headers,
    attachments: mail.attachments.map((a) => ({
      filename: a.filename ?? '',
      contentType: a.contentType,
      content: new Uint8Array(a.content),
      ...(a.contentId === undefined ? {} : { contentId: a.contentId.replace(/^<|>$/g, '') }),
    })),
  };
}
