import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    name: 'metrics',
    include: ['src/**/*.test.ts'],
  },
});
