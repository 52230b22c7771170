import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: '@tracks/email-smtp',
    include: ['src/**/*.test.ts'],
  },
});
