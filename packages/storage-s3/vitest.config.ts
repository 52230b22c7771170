import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: '@tracks/storage-s3',
    include: ['src/**/*.test.ts'],
    // the 100 MiB round trip through s3rver takes about two seconds; a slow CI core gets headroom
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // the SDK warns on Node 20 that releases after January 2027 will need Node 22: known, and
    // noise in every test log
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});
