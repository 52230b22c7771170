// A worker process for bullmq.test.ts: an outbox on the BullMQ driver that delivers by telling
// the parent over IPC. `hang` makes every delivery start and never finish (the parent kills the
// process mid-job); `stop` from the parent stops the outbox (draining) and ends the process.
import { bullmqDriver } from '../bullmq-driver.js';
import { createOutbox } from '../outbox.js';

const [port, prefix, worker, mode] = process.argv.slice(2) as [string, string, string, 'deliver' | 'hang'];
const outbox = createOutbox({
  driver: bullmqDriver({
    connection: { host: '127.0.0.1', port: Number(port) },
    prefix,
    lockDurationMs: 200,
    stalledIntervalMs: 100,
  }),
  handlers: {
    email: async (message: { n: number }, ctx) => {
      process.send?.({ worker, started: message.n, attempt: ctx.attempt });
      if (mode === 'hang') return new Promise<void>(() => {});
      // slow enough that one process cannot keep up with the queue alone
      await new Promise((resolve) => setTimeout(resolve, 20));
      process.send?.({ worker, delivered: message.n });
    },
  },
  concurrency: 2,
  pollIntervalMs: 10,
  leaseMs: 5_000,
});
outbox.start();
// the outbox's timers are unref'd by design: this process lives until it is stopped or killed
const alive = setInterval(() => {}, 1_000);
process.on('message', async (message) => {
  if (message !== 'stop') return;
  await outbox.stop();
  clearInterval(alive);
  process.send?.({ worker, stopped: true });
  process.disconnect?.();
});
process.send?.({ worker, ready: true });
