import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: '@tracks/storage-s3',
    include: ['src/**/*.test.ts'],
    // the 100 MiB round trip through s3rver takes about two seconds; a slow CI core gets headroom
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
