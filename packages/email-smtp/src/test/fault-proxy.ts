// A TCP proxy on 127.0.0.1 in front of the test SMTP server that can reset connections: the
// "provider resets the connection" failure, which smtp-server itself cannot produce. Test-only.
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';

export class FaultProxy {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  #resetting = false;
  #connections = 0;
  #sent: Buffer[] = [];

  constructor(upstreamPort: number) {
    this.#server = createServer((client) => {
      this.#connections++;
      if (this.#resetting) {
        client.resetAndDestroy();
        return;
      }
      const upstream = connect(upstreamPort, '127.0.0.1');
      for (const socket of [client, upstream]) {
        this.#sockets.add(socket);
        socket.on('close', () => this.#sockets.delete(socket));
        socket.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.on('data', (chunk: Buffer) => {
        if (this.#sent.length < 1000) this.#sent.push(chunk);
      });
      client.pipe(upstream).pipe(client);
    });
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    return (this.#server.address() as AddressInfo).port;
  }

  /** TCP connections clients opened through the proxy. */
  get connections(): number {
    return this.#connections;
  }

  /** What clients sent through the proxy, as text (the first thousand chunks): the wire itself. */
  clientBytes(): string {
    return Buffer.concat(this.#sent).toString('utf8');
  }

  /** Forgets what {@link clientBytes} recorded. */
  clearRecording(): void {
    this.#sent = [];
  }

  /** From now on, reset every connection (open ones at once, new ones on arrival) with a TCP RST. */
  reset(on: boolean): void {
    this.#resetting = on;
    if (on) for (const socket of this.#sockets) socket.resetAndDestroy();
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
