import { defineConfig } from 'vitest/config';

// One vitest run over every package, so the total it prints is the total of the repo.
export default defineConfig({
  test: {
    projects: ['packages/*', 'apps/*'],
  },
});
