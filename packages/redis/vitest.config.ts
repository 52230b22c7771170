import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: '@tracks/redis',
    include: ['src/**/*.test.ts'],
    // each file starts its own redis-server; child-process tests spawn Node processes
    testTimeout: 15_000,
    hookTimeout: 15_000,
  },
});
