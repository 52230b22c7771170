// An in-process SMTP server (smtp-server) on 127.0.0.1 that speaks real SMTP with AUTH, parses
// what arrives with mailparser, and answers with injected replies: the local server behind the
// contract suite, the failure tests and the benchmark. Test-only: not part of the package.
import type { AddressInfo } from 'node:net';
import type { EmailTestServer, ReceivedAddress, ReceivedMessage } from '@tracks/email/testing';
import type { AddressObject, ParsedMail } from 'mailparser';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';

// smtp-server holds every greeting back 100 ms to catch clients that talk too early. Real relays
// pause too (postscreen), but here it would force every client timeout above 100 ms: servers
// made with `greetingDelay: false` (the default for tests) greet at once.
type ConnectionInternals = {
  _server: { options: { tracksNoGreetingDelay?: boolean } };
  _setListeners(callback: () => void): void;
  connectionReady(): void;
};
const connectionPrototype = SMTPConnection.prototype as unknown as ConnectionInternals & { init(): void };
const originalInit = connectionPrototype.init;
connectionPrototype.init = function init(this: ConnectionInternals & { init(): void }) {
  if (this._server.options.tracksNoGreetingDelay)
    this._setListeners(() => setImmediate(() => this.connectionReady()));
  else originalInit.call(this);
};

/** The SMTP command an injected reply answers. */
export type SmtpStage = 'MAIL' | 'RCPT' | 'DATA';

export const TEST_USER = 'tracks-user';
export const TEST_PASSWORD = 'hunter2-very-secret-password';

interface Faults {
  reply?: { stage: SmtpStage; code: number; text: string };
  hangData: boolean;
  hangGreeting: boolean;
  badCredentials: boolean;
  rejected: Set<string>;
}

const freshFaults = (): Faults => ({
  hangData: false,
  hangGreeting: false,
  badCredentials: false,
  rejected: new Set(),
});

function smtpError(code: number, text: string): Error {
  return Object.assign(new Error(text), { responseCode: code });
}

export class SmtpTestServer implements EmailTestServer {
  readonly #server: SMTPServer;
  #faults: Faults = freshFaults();
  #received: ReceivedMessage[] = [];
  #envelopes: { from: string; to: string[] }[] = [];
  #requests = 0;
  #connections = 0;
  #port = 0;

  constructor(options: { auth?: boolean; greetingDelay?: boolean } = {}) {
    const auth = options.auth ?? true;
    this.#server = new SMTPServer({
      ...({ tracksNoGreetingDelay: !(options.greetingDelay ?? false) } as object),
      logger: false,
      disabledCommands: auth ? ['STARTTLS'] : ['STARTTLS', 'AUTH'],
      authOptional: !auth,
      allowInsecureAuth: true,
      disableReverseLookup: true,
      closeTimeout: 50,
      size: 25 * 1024 * 1024,
      onConnect: (_session, callback) => {
        this.#connections++;
        // never answering leaves the client waiting for the greeting
        if (!this.#faults.hangGreeting) callback();
      },
      onAuth: (credentials, _session, callback) => {
        const ok =
          !this.#faults.badCredentials &&
          credentials.username === TEST_USER &&
          credentials.password === TEST_PASSWORD;
        if (ok) callback(null, { user: TEST_USER });
        else callback(smtpError(535, '5.7.8 Authentication credentials invalid'));
      },
      onMailFrom: (_address, _session, callback) => {
        this.#requests++;
        callback(this.#injected('MAIL'));
      },
      onRcptTo: (address, _session, callback) => {
        if (this.#faults.rejected.has(address.address.toLowerCase())) {
          callback(smtpError(550, `5.1.1 <${address.address}>: Recipient address rejected: User unknown`));
          return;
        }
        callback(this.#injected('RCPT'));
      },
      onData: (stream, session, callback) => {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          if (this.#faults.hangData) return; // the message arrived; the reply never comes
          const injected = this.#injected('DATA');
          if (injected) return callback(injected);
          const envelope = session.envelope.rcptTo.map((r) => r.address);
          simpleParser(Buffer.concat(chunks)).then(
            (parsed) => {
              this.#received.push(toReceived(parsed, envelope));
              this.#envelopes.push({
                from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
                to: envelope,
              });
              callback(null, 'Ok: queued');
            },
            (error: Error) => callback(error),
          );
        });
      },
    });
  }

  /** Starts listening on 127.0.0.1 on a free port. */
  async listen(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(0, '127.0.0.1', () => resolve());
    });
    this.#port = (this.#server as unknown as { server: { address(): AddressInfo } }).server.address().port;
    return this.#port;
  }

  get port(): number {
    return this.#port;
  }

  /** TCP connections the server accepted (the benchmark and the pool tests count them). */
  get connections(): number {
    return this.#connections;
  }

  /** Client connections open right now. */
  get openConnections(): number {
    return (this.#server as unknown as { connections: Set<unknown> }).connections.size;
  }

  /** Resolves once no client connection is open (or after `withinMs`, whichever is first). */
  async drained(withinMs: number): Promise<void> {
    const deadline = performance.now() + withinMs;
    while (this.openConnections > 0 && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  /** Clears faults, records and counters. */
  reset(): void {
    this.#faults = freshFaults();
    this.#received = [];
    this.#envelopes = [];
    this.#requests = 0;
    this.#connections = 0;
  }

  /** Clears faults, keeping records and counters. */
  clearFaults(): void {
    this.#faults = freshFaults();
  }

  /** Answers `stage` with this reply until reset (or `clearReply`). */
  replyAt(stage: SmtpStage, code: number, text = `${code} injected reply`): void {
    this.#faults.reply = { stage, code, text };
  }

  clearReply(): void {
    delete this.#faults.reply;
  }

  hangGreeting(): void {
    this.#faults.hangGreeting = true;
  }

  // EmailTestServer
  throttle(_retryAfterSeconds: number): void {
    // SMTP says nothing about how long to wait; 454 is what SES's SMTP interface answers
    this.replyAt('MAIL', 454, '4.7.0 Throttling failure: Maximum sending rate exceeded.');
  }
  fail5xx(): void {
    this.replyAt('MAIL', 451, '4.3.0 Temporary server error. Please try again later');
  }
  badCredentials(): void {
    this.#faults.badCredentials = true;
  }
  rejectRecipient(address: string): void {
    this.#faults.rejected.add(address.toLowerCase());
  }
  hang(): void {
    this.#faults.hangData = true;
  }
  received(): ReceivedMessage[] {
    return this.#received;
  }
  /** The SMTP envelope (MAIL FROM, RCPT TO) of each accepted message. */
  envelopes(): { from: string; to: string[] }[] {
    return this.#envelopes;
  }
  requestCount(): number {
    return this.#requests;
  }

  #injected(stage: SmtpStage): Error | null {
    const reply = this.#faults.reply;
    return reply !== undefined && reply.stage === stage ? smtpError(reply.code, reply.text) : null;
  }
}

function addresses(field: AddressObject | AddressObject[] | undefined): ReceivedAddress[] {
  const list = field === undefined ? [] : Array.isArray(field) ? field : [field];
  return list.flatMap((o) =>
    o.value.map((a) => (a.name ? { address: a.address ?? '', name: a.name } : { address: a.address ?? '' })),
  );
}

function toReceived(parsed: ParsedMail, envelope: string[]): ReceivedMessage {
  const to = addresses(parsed.to);
  const cc = addresses(parsed.cc);
  const visible = new Set([...to, ...cc].map((a) => a.address.toLowerCase()));
  const headers: Record<string, string> = {};
  for (const [name, value] of parsed.headers) {
    headers[name.toLowerCase()] =
      typeof value === 'string'
        ? value
        : typeof value === 'object' && value !== null && 'text' in value
          ? String((value as { text: unknown }).text)
          : JSON.stringify(value);
  }
  const replyTo = addresses(parsed.replyTo)[0];
  return {
    from: addresses(parsed.from)[0] ?? { address: '' },
    to,
    cc,
    bcc: envelope.filter((r) => !visible.has(r.toLowerCase())).map((address) => ({ address })),
    ...(replyTo !== undefined ? { replyTo } : {}),
    subject: parsed.subject ?? '',
    ...(parsed.text !== undefined ? { text: parsed.text } : {}),
    ...(typeof parsed.html === 'string' ? { html: parsed.html } : {}),
    headers,
    attachments: parsed.attachments.map((a) => ({
      filename: a.filename ?? '',
      contentType: a.contentType,
      content: new Uint8Array(a.content),
      ...(a.cid !== undefined ? { contentId: a.cid } : {}),
    })),
    ...(parsed.messageId !== undefined ? { messageId: parsed.messageId } : {}),
  };
}
