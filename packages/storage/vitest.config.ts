import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: '@tracks/storage',
    include: ['src/**/*.test.ts'],
    // the 100 MiB streaming test takes about a second; a slow CI core gets headroom
    testTimeout: 20_000,
  },
});
