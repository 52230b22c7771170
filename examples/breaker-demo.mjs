// A circuit breaker opening and recovering, in about three seconds of real time.
//
//   pnpm demo                       (builds, then runs this file)
//   node examples/breaker-demo.mjs  (after `pnpm build`)
//
// A fake provider fails for a while; the breaker opens, rejects calls at once with the time
// until it will try again, lets one probe through after its 1.5 s open timeout, and closes when
// the provider is back. No timers are left behind: the process ends by itself.
import { CircuitBreaker, isOpenStateError } from '../packages/breaker/dist/index.js';

const started = Date.now();
const at = () => `${String(Date.now() - started).padStart(5)} ms`;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

let providerUp = true;
async function sendEmail(to) {
  await sleep(20); // a network round trip
  if (!providerUp) throw new Error('503 Service Unavailable');
  return `message for ${to} accepted`;
}

const breaker = new CircuitBreaker({
  name: 'email:demo',
  timeout: 1_500, // open for 1.5 s, then half-open
  maxRequests: 1, // one probe; its success closes the breaker
  readyToTrip: (counts) => counts.consecutiveFailures >= 3,
});
breaker.onStateChange(({ name, from, to }) => console.log(`${at()}  ${name}: ${from} -> ${to}`));

async function send(to) {
  try {
    const result = await breaker.execute(() => sendEmail(to));
    console.log(`${at()}  sent:     ${result}`);
  } catch (error) {
    if (isOpenStateError(error)) {
      console.log(`${at()}  rejected: ${error.message}, retry in ${error.retryAfterMs} ms (nothing sent)`);
    } else {
      console.log(`${at()}  failed:   ${error.message}`);
    }
  }
}

console.log(`${at()}  state: ${breaker.state}`);
await send('ada@example.com');

console.log(`${at()}  -- the provider goes down --`);
providerUp = false;
for (const to of ['bob@example.com', 'cy@example.com', 'dee@example.com']) await send(to);

for (let i = 0; i < 3; i++) {
  await send(`queued-${i}@example.com`); // fast: the breaker answers without calling the provider
  await sleep(400);
}

console.log(`${at()}  -- the provider is back --`);
providerUp = true;
while (breaker.state === 'open') await sleep(50); // state is evaluated lazily, on access
console.log(`${at()}  state: ${breaker.state}`);
await send('probe@example.com'); // the probe: its success closes the breaker
await send('eve@example.com');
console.log(`${at()}  state: ${breaker.state}, counts ${JSON.stringify(breaker.counts)}`);
