// A node:http server on 127.0.0.1 that speaks enough of SNS's Query protocol for the tests:
// form-encoded `Action=Publish` in, `<PublishResponse>` or `<ErrorResponse>` XML out.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface PublishedSms {
  to: string;
  body: string;
  attributes: Record<string, string>;
  authorization: string;
}

export type FakeSnsFault =
  | { code: string; status: number; message?: string }
  | 'hang'
  | 'no-message-id'
  | 'garbage';

export class FakeSns {
  readonly published: PublishedSms[] = [];
  readonly faults: FakeSnsFault[] = [];
  requests = 0;
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();

  private constructor(server: Server) {
    this.#server = server;
    server.on('connection', (socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
  }

  static async start(): Promise<FakeSns> {
    let fake: FakeSns | undefined;
    const server = createServer((req, res) => fake?.handle(req, res));
    fake = new FakeSns(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return fake;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  reset(): void {
    this.published.length = 0;
    this.faults.length = 0;
    this.requests = 0;
    // hung requests of an earlier test must not linger
    for (const socket of this.#sockets) socket.destroy();
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
    const fault = this.faults.shift();
    if (fault === 'hang') return;
    if (fault === 'garbage') {
      res.writeHead(200, { 'content-type': 'text/xml' }).end('<html>not sns</html>');
      return;
    }
    if (typeof fault === 'object') {
      res.writeHead(fault.status, { 'content-type': 'text/xml', 'x-amzn-requestid': randomUUID() });
      res.end(
        `<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>${
          fault.status >= 500 ? 'Receiver' : 'Sender'
        }</Type><Code>${fault.code}</Code><Message>${escapeXml(fault.message ?? fault.code)}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`,
      );
      return;
    }
    if (form.get('Action') !== 'Publish') {
      res.writeHead(400).end();
      return;
    }
    const attributes: Record<string, string> = {};
    for (let i = 1; form.has(`MessageAttributes.entry.${i}.Name`); i++) {
      attributes[form.get(`MessageAttributes.entry.${i}.Name`)!] =
        form.get(`MessageAttributes.entry.${i}.Value.StringValue`) ?? '';
    }
    this.published.push({
      to: form.get('PhoneNumber') ?? '',
      body: form.get('Message') ?? '',
      attributes,
      authorization: String(req.headers.authorization ?? ''),
    });
    const messageId = fault === 'no-message-id' ? '' : `<MessageId>${randomUUID()}</MessageId>`;
    res.writeHead(200, { 'content-type': 'text/xml' });
    res.end(
      `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult>${messageId}</PublishResult><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></PublishResponse>`,
    );
  }
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
