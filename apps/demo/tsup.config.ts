import { defineConfig } from 'tsup';

// The app is started as `node apps/demo/dist/main.js`; dependencies stay external and are
// resolved from node_modules at run time.
export default defineConfig({
  entry: { main: 'src/main.ts', app: 'src/app.ts' },
  format: ['esm'],
  dts: false,
  sourcemap: true,
  clean: true,
  target: 'node20',
  platform: 'node',
});
