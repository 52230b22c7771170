// SMTP throughput of SmtpEmailAdapter, pooled vs unpooled, to an in-process smtp-server on
// 127.0.0.1 with AUTH PLAIN. Run after a build: `pnpm --filter @tracks/email-smtp bench`.
// Short by design (a few seconds): the machine is shared.
import os from 'node:os';
import { SMTPServer } from 'smtp-server';
import { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';
import { SmtpEmailAdapter } from '../dist/index.js';

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 300);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 10);

// smtp-server pauses 100 ms before its greeting (early-talker detection). Real relays vary
// (Postfix's postscreen pauses 6 s on first contact), so both are measured.
const originalInit = SMTPConnection.prototype.init;
SMTPConnection.prototype.init = function init() {
  if (this._server.options.benchNoGreetingDelay)
    this._setListeners(() => setImmediate(() => this.connectionReady()));
  else originalInit.call(this);
};

async function startServer(greetingDelay) {
  let connections = 0;
  const server = new SMTPServer({
    benchNoGreetingDelay: !greetingDelay,
    logger: false,
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    disableReverseLookup: true,
    closeTimeout: 50,
    onConnect: (_session, callback) => {
      connections++;
      callback();
    },
    onAuth: (_auth, _session, callback) => callback(null, { user: 'bench' }),
    onData: (stream, _session, callback) => {
      stream.on('data', () => {});
      stream.on('end', () => callback(null, 'Ok: queued'));
    },
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: server.server.address().port, connections: () => connections };
}

const message = (i) => ({
  from: 'Bench <bench@example.com>',
  to: [`rcpt${i}@example.com`],
  subject: `Benchmark message ${i}`,
  text: 'Hello from the benchmark. '.repeat(20),
  html: `<p>${'Hello from the benchmark. '.repeat(20)}</p>`,
});

async function run(label, pool, greetingDelay, count, report = true) {
  const { server, port, connections } = await startServer(greetingDelay);
  const adapter = new SmtpEmailAdapter({
    host: '127.0.0.1',
    port,
    pool,
    maxConnections: 5,
    auth: { user: 'bench', pass: 'bench-password' },
  });
  // one warm-up message: module loading and the first connection are not throughput
  await adapter.send(message(0));
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < count) {
      const i = next++;
      await adapter.send(message(i));
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const seconds = (performance.now() - started) / 1000;
  await adapter.close();
  await new Promise((resolve) => server.close(resolve));
  const row = {
    mode: label,
    greeting: greetingDelay ? '100 ms pause' : 'immediate',
    messages: count,
    'messages/s': Math.round(count / seconds),
    connections: connections(),
  };
  if (report) console.log(JSON.stringify(row));
  return row;
}

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const configs = [
  ['pooled (5 connections)', true, false, MESSAGES],
  ['unpooled (a connection per message)', false, false, MESSAGES / 2],
  ['pooled (5 connections)', true, true, MESSAGES],
  ['unpooled (a connection per message)', false, true, MESSAGES / 4],
];
console.log(
  `# SmtpEmailAdapter throughput: node ${process.version}, ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ` +
    `load ${os.loadavg()[0].toFixed(1)}, ${CONCURRENCY} sends in flight, median of ${ROUNDS} interleaved rounds`,
);
// a first round warms the JIT for both code paths; it is not reported
await run('warm-up', true, false, 100, false);
await run('warm-up', false, false, 50, false);
const results = configs.map(() => []);
for (let round = 0; round < ROUNDS; round++) {
  for (const [index, [label, pool, greetingDelay, count]] of configs.entries()) {
    results[index].push(await run(label, pool, greetingDelay, count));
  }
}
const median = (values) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)];
console.table(
  results.map((rows) => ({
    mode: rows[0].mode,
    greeting: rows[0].greeting,
    messages: rows[0].messages,
    'messages/s (median)': median(rows.map((r) => r['messages/s'])),
    'min-max': `${Math.min(...rows.map((r) => r['messages/s']))}-${Math.max(...rows.map((r) => r['messages/s']))}`,
    connections: rows[0].connections,
  })),
);
