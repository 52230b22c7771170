import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: '@tracks/email-ses',
    include: ['src/**/*.test.ts'],
  },
});
