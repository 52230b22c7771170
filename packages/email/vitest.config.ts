import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: '@tracks/email',
    include: ['src/**/*.test.ts'],
  },
});
