import type { AddressInfo } from 'node:net';
import { type AddressObject, simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

/** One mail the sink received, as the dashboard's inbox shows it. */
export interface InboxMessage {
  readonly id: number;
  readonly receivedAt: string;
  readonly messageId?: string;
  readonly from: string;
  readonly to: string[];
  readonly subject: string;
  readonly text?: string;
  readonly html?: string;
  readonly sizeBytes: number;
}

/** Options of {@link startSmtpSink}. */
export interface SmtpSinkOptions {
  /** @default '127.0.0.1' */
  host?: string;
  /** 0 picks a free port. @default 0 */
  port?: number;
  /** Mails kept; older ones are dropped. @default 100 */
  capacity?: number;
  /** Largest mail accepted, in bytes. @default 10 MiB */
  maxSizeBytes?: number;
}

/** An in-process SMTP server that keeps what it receives, like Mailpit in development. */
export interface SmtpSink {
  readonly host: string;
  readonly port: number;
  /** Newest first. */
  messages(): InboxMessage[];
  /** Stops listening and ends open sessions. */
  close(): Promise<void>;
}

/** Starts the embedded SMTP sink on loopback and resolves once it listens. */
export async function startSmtpSink(options: SmtpSinkOptions = {}): Promise<SmtpSink> {
  const host = options.host ?? '127.0.0.1';
  const capacity = options.capacity ?? 100;
  const maxSizeBytes = options.maxSizeBytes ?? 10 * 1024 * 1024;
  const inbox: InboxMessage[] = [];
  let nextId = 1;

  const server = new SMTPServer({
    // a development sink on loopback: no TLS, any sender, any login
    secure: false,
    disabledCommands: ['STARTTLS'],
    authOptional: true,
    onAuth: (_auth, _session, callback) => callback(null, { user: 'sink' }),
    size: maxSizeBytes,
    logger: false,
    banner: 'tracks demo SMTP sink',
    onData(stream, _session, callback) {
      const chunks: Buffer[] = [];
      let size = 0;
      stream.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size <= maxSizeBytes) chunks.push(chunk);
      });
      stream.on('end', () => {
        if (stream.sizeExceeded) {
          const error = Object.assign(new Error("message exceeds the sink's size limit"), {
            responseCode: 552,
          });
          callback(error);
          return;
        }
        simpleParser(Buffer.concat(chunks), { skipImageLinks: true, skipTextToHtml: true })
          .then((mail) => {
            inbox.unshift({
              id: nextId++,
              receivedAt: new Date().toISOString(),
              ...(mail.messageId !== undefined && { messageId: mail.messageId }),
              from: mail.from?.text ?? '',
              to: addresses(mail.to),
              subject: mail.subject ?? '',
              ...(mail.text !== undefined && { text: mail.text }),
              ...(typeof mail.html === 'string' && { html: mail.html }),
              sizeBytes: size,
            });
            if (inbox.length > capacity) inbox.length = capacity;
            callback();
          })
          .catch((error: unknown) => callback(error instanceof Error ? error : new Error(String(error))));
      });
    },
  });
  server.on('error', () => {
    // a client that drops mid-session is its own problem, not the sink's
  });

  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.server.off('error', reject);
      resolve();
    });
  });
  const port = (server.server.address() as AddressInfo).port;

  return {
    host,
    port,
    messages: () => inbox.slice(),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
      }),
  };
}

function addresses(field: AddressObject | AddressObject[] | undefined): string[] {
  if (field === undefined) return [];
  const list = Array.isArray(field) ? field : [field];
  return list.flatMap((group) => group.value.map((a) => a.address ?? a.name).filter((a): a is string => !!a));
}
