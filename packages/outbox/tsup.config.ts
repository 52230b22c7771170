import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts', 'src/testing.ts'],
  format: ['esm'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'es2022',
  platform: 'node',
  // loaded lazily by sqliteDriver() and bullmqDriver() and only there; the contract suite runs inside the user's vitest
  external: ['better-sqlite3', 'bullmq', 'vitest'],
});
