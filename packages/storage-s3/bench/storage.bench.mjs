#!/usr/bin/env node
// Upload and download throughput (MiB/s) and peak RSS for a 100 MiB object through
// FsStorageAdapter and S3StorageAdapter (on s3rver, in its own process, on 127.0.0.1).
// Each adapter runs in a fresh child process so that its peak RSS is its own.
//
//   pnpm --filter @tracks/storage-s3 bench            (builds first through turbo: pnpm bench)
//   node bench/storage.bench.mjs [--size-mib 100] [--runs 3]
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MiB = 1024 * 1024;
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const sizeMiB = Number(option('--size-mib', '100'));
const runs = Number(option('--runs', '3'));
const only = option('--adapter', undefined);
const self = fileURLToPath(import.meta.url);

if (only === undefined) {
  console.log(`storage bench: ${sizeMiB} MiB object, ${runs} runs per adapter, Node ${process.version}`);
  console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}`);
  const rows = [];
  for (const adapter of ['fs', 's3']) {
    const child = spawnSync(
      process.execPath,
      [self, '--adapter', adapter, '--size-mib', String(sizeMiB), '--runs', String(runs)],
      {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    if (child.status !== 0) {
      console.error(`bench for ${adapter} failed`);
      process.exit(1);
    }
    rows.push(JSON.parse(child.stdout.trim().split('\n').at(-1)));
  }
  console.log('');
  console.log(
    '| adapter | upload MiB/s (median) | download MiB/s (median) | peak RSS MiB | RSS before MiB |',
  );
  console.log('|---|---:|---:|---:|---:|');
  for (const r of rows) {
    console.log(
      `| ${r.adapter} | ${r.upload.toFixed(0)} | ${r.download.toFixed(0)} | ${r.peakRssMiB.toFixed(0)} | ${r.startRssMiB.toFixed(0)} |`,
    );
  }
  process.exit(0);
}

// --- one adapter, in this child process ---
const { FsStorageAdapter } = await import('@tracks/storage');
const { S3StorageAdapter } = await import('../dist/index.js');
const size = sizeMiB * MiB;

function body() {
  let produced = 0;
  return new ReadableStream(
    {
      pull(controller) {
        if (produced >= size) return controller.close();
        const chunk = new Uint8Array(Math.min(MiB, size - produced)).fill(produced / MiB);
        produced += chunk.byteLength;
        controller.enqueue(chunk);
      },
    },
    { highWaterMark: 0 },
  );
}

let stop = async () => {};
let adapter;
const startRssMiB = process.memoryUsage().rss / MiB;
if (only === 'fs') {
  const root = mkdtempSync(join(tmpdir(), 'tracks-bench-fs-'));
  adapter = new FsStorageAdapter({ root });
  stop = async () => rmSync(root, { recursive: true, force: true });
} else {
  const child = spawn(
    process.execPath,
    [
      '--openssl-legacy-provider',
      fileURLToPath(new URL('../test-support/s3rver-child.mjs', import.meta.url)),
    ],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  const port = await new Promise((resolve) => {
    child.stdout.once('data', (data) => resolve(JSON.parse(String(data).split('\n')[0]).port));
  });
  adapter = new S3StorageAdapter({
    bucket: 'tracks',
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestTimeoutMs: 120_000,
  });
  stop = async () => {
    await adapter.close();
    await new Promise((resolve) => {
      child.once('exit', resolve);
      child.stdin.end();
    });
  };
}

const uploads = [];
const downloads = [];
for (let run = 0; run < runs; run++) {
  const key = `bench/object-${run}.bin`;
  let started = performance.now();
  const put = await adapter.put(key, body());
  uploads.push(sizeMiB / ((performance.now() - started) / 1000));
  if (put.size !== size) throw new Error(`uploaded ${put.size} bytes, expected ${size}`);

  started = performance.now();
  const object = await adapter.get(key);
  let received = 0;
  for await (const chunk of object.body) {
    received += chunk.byteLength;
  }
  downloads.push(sizeMiB / ((performance.now() - started) / 1000));
  if (received !== size) throw new Error(`downloaded ${received} bytes, expected ${size}`);
  await adapter.delete(key);
}
await stop();
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
// maxRSS is in KiB: the peak of this process over its whole life
const peakRssMiB = process.resourceUsage().maxRSS / 1024;
console.log(
  JSON.stringify({
    adapter: only,
    upload: median(uploads),
    download: median(downloads),
    peakRssMiB,
    startRssMiB,
  }),
);
