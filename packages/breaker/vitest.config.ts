import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: '@tracks/breaker',
    include: ['src/**/*.test.ts'],
  },
});
