import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: '@tracks/outbox',
    include: ['src/**/*.test.ts'],
    // the crash test starts child processes
    testTimeout: 15_000,
    hookTimeout: 15_000,
  },
});
