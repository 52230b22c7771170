import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsStorageAdapter } from './fs-adapter.js';
import { MemoryStorageAdapter } from './memory-adapter.js';
import { describeStorageAdapterContract } from './testing.js';

const roots: string[] = [];

describeStorageAdapterContract('FsStorageAdapter', {
  create: () => {
    const root = mkdtempSync(join(tmpdir(), 'tracks-fs-contract-'));
    roots.push(root);
    return new FsStorageAdapter({ root });
  },
  destroy: () => {
    for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
  },
});

describeStorageAdapterContract('MemoryStorageAdapter', {
  create: () => new MemoryStorageAdapter(),
  // it holds objects whole, by design: a smaller object, and no memory bound
  capabilities: { largeObjectBytes: 8 * 1024 * 1024, maxMemoryGrowthBytes: false },
  faults: {
    adapter: (kind) => {
      const adapter = new MemoryStorageAdapter();
      adapter.injectFault({ kind });
      return adapter;
    },
  },
});
