// Runs s3rver in its own process (started with --openssl-legacy-provider: s3rver's ListObjectsV2
// continuation tokens use DES, which OpenSSL 3 only has in its legacy provider). Prints the
// address as one JSON line on stdout; exits when its parent closes stdin or sends SIGTERM.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';

const directory = mkdtempSync(join(tmpdir(), 'tracks-s3rver-'));
const buckets = (process.env.S3RVER_BUCKETS ?? 'tracks').split(',');
const server = new S3rver({
  address: '127.0.0.1',
  port: 0,
  silent: true,
  directory,
  configureBuckets: buckets.map((name) => ({ name })),
});
const { port } = await server.run();
process.stdout.write(`${JSON.stringify({ port, directory })}\n`);

let closing = false;
async function shutdown() {
  if (closing) return;
  closing = true;
  await server.close().catch(() => {});
  rmSync(directory, { recursive: true, force: true });
  process.exit(0);
}
process.stdin.on('end', shutdown);
process.stdin.on('close', shutdown);
process.stdin.resume();
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
