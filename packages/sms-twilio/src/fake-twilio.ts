// A node:http server on 127.0.0.1 that speaks enough of Twilio's REST API for the tests:
// form-encoded bodies in, JSON out, Basic auth checked. The Messages API, and a Verify v2
// service that generates codes, counts checks (60202 after five) and sends (60203 after five in
// ten minutes), and expires verifications on its own injectable clock.
import { randomInt } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface FakeTwilioFault {
  status: number;
  code: number;
  message: string;
  retryAfter?: string;
}

interface Verification {
  code: string;
  createdAt: number;
  checks: number;
}

export class FakeTwilio {
  readonly messages: { to: string; body: string; from?: string; messagingServiceSid?: string }[] = [];
  readonly deliveries: { to: string; body: string }[] = [];
  readonly faults: (FakeTwilioFault | 'hang' | 'no-sid')[] = [];
  requests = 0;
  now = 1_000_000;
  readonly #verifications = new Map<string, Verification>();
  readonly #sends = new Map<string, number[]>();
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  readonly #hung = new Set<Socket>();

  private constructor(
    server: Server,
    readonly accountSid: string,
    readonly authToken: string,
  ) {
    this.#server = server;
    server.on('connection', (socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
  }

  static async start(accountSid: string, authToken: string): Promise<FakeTwilio> {
    let fake: FakeTwilio | undefined;
    const server = createServer((req, res) => fake?.handle(req, res));
    fake = new FakeTwilio(server, accountSid, authToken);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return fake;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  lastCode(to: string): string | undefined {
    return this.#verifications.get(to)?.code;
  }

  reset(): void {
    this.messages.length = 0;
    this.deliveries.length = 0;
    this.faults.length = 0;
    this.requests = 0;
    this.#verifications.clear();
    this.#sends.clear();
    // hung requests of an earlier test must not linger; idle keep-alive sockets may stay
    for (const socket of this.#hung) socket.destroy();
    this.#hung.clear();
  }

  async stop(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    this.requests += 1;
    const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
    const json = (status: number, body: unknown, headers: Record<string, string> = {}): void => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
    };
    const error = (
      status: number,
      code: number,
      message: string,
      headers: Record<string, string> = {},
    ): void =>
      json(
        status,
        { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status },
        headers,
      );

    const expected = `Basic ${Buffer.from(`${this.accountSid}:${this.authToken}`).toString('base64')}`;
    if (req.headers.authorization !== expected) return error(401, 20003, 'Authenticate');
    const fault = this.faults.shift();
    if (fault === 'hang') {
      this.#hung.add(req.socket);
      return;
    }
    if (typeof fault === 'object') {
      return error(
        fault.status,
        fault.code,
        fault.message,
        fault.retryAfter ? { 'retry-after': fault.retryAfter } : {},
      );
    }
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const to = form.get('To') ?? '';

    if (req.method === 'POST' && path === `/2010-04-01/Accounts/${this.accountSid}/Messages.json`) {
      const body = form.get('Body') ?? '';
      const sender = form.has('MessagingServiceSid')
        ? { messagingServiceSid: form.get('MessagingServiceSid')! }
        : { from: form.get('From') ?? '' };
      this.messages.push({ to, body, ...sender });
      this.deliveries.push({ to, body });
      return json(201, {
        sid: fault === 'no-sid' ? null : `SM${randomHex(32)}`,
        account_sid: this.accountSid,
        to,
        body,
        status: 'queued',
        num_segments: '1',
      });
    }
    const verify = /^\/v2\/Services\/(VA[0-9a-f]{32})\/(Verifications|VerificationCheck)$/.exec(path);
    if (req.method === 'POST' && verify) {
      if (verify[2] === 'Verifications') {
        const sends = (this.#sends.get(to) ?? []).filter((t) => t > this.now - 600_000);
        if (sends.length >= 5)
          return error(429, 60203, 'Max send attempts reached', { 'retry-after': '600' });
        sends.push(this.now);
        this.#sends.set(to, sends);
        const live = this.#live(to);
        const code = live?.code ?? String(randomInt(0, 1_000_000)).padStart(6, '0');
        this.#verifications.set(to, {
          code,
          createdAt: live?.createdAt ?? this.now,
          checks: live?.checks ?? 0,
        });
        this.deliveries.push({ to, body: `Your verification code is: ${code}` });
        return json(201, {
          sid: `VE${randomHex(32)}`,
          service_sid: verify[1],
          to,
          channel: form.get('Channel'),
          status: 'pending',
          valid: false,
        });
      }
      const live = this.#live(to);
      if (live === undefined) {
        return error(
          404,
          20404,
          `The requested resource /Services/${verify[1]}/VerificationCheck was not found`,
        );
      }
      if (live.checks >= 5) return error(429, 60202, 'Max check attempts reached');
      live.checks += 1;
      const approved = form.get('Code') === live.code;
      if (approved) this.#verifications.delete(to);
      return json(200, {
        sid: `VE${randomHex(32)}`,
        to,
        status: approved ? 'approved' : 'pending',
        valid: approved,
      });
    }
    return error(404, 20404, 'The requested resource was not found');
  }

  #live(to: string): Verification | undefined {
    const v = this.#verifications.get(to);
    if (v !== undefined && v.createdAt + 600_000 <= this.now) {
      this.#verifications.delete(to);
      return undefined;
    }
    return v;
  }
}

function randomHex(length: number): string {
  let out = '';
  while (out.length < length) out += randomInt(0, 16).toString(16);
  return out;
}
