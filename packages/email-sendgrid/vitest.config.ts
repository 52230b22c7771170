import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: '@tracks/email-sendgrid',
    include: ['src/**/*.test.ts'],
  },
});
