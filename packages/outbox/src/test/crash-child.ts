// A worker process for sqlite-crash.test.ts: it enqueues numbered messages as fast as it can,
// reporting each one once enqueue() resolved, while its worker delivers them by appending to a
// log file. The test kills it with SIGKILL in the middle.
import { appendFileSync } from 'node:fs';
import { createOutbox } from '../outbox.js';
import { sqliteDriver } from '../sqlite-driver.js';

const [dbPath, logPath] = process.argv.slice(2) as [string, string];
const outbox = createOutbox({
  driver: sqliteDriver({ path: dbPath }),
  handlers: {
    email: async (message: { n: number }) => {
      appendFileSync(logPath, `${message.n}\n`);
      await new Promise((resolve) => setTimeout(resolve, 1));
    },
  },
  concurrency: 4,
  pollIntervalMs: 5,
});
outbox.start();
// the worker's timers are unref'd by design: this process lives until it is killed
setInterval(() => {}, 1_000);
for (let n = 0; n < 100_000; n++) {
  const { id } = await outbox.enqueue('email', { n });
  process.send?.({ n, id });
  // let the worker's timers run between enqueues, as requests arriving over time would
  await new Promise((resolve) => setImmediate(resolve));
}
