// Builds the dashboard into dashboard/dist, served by the API at /dashboard
// (src/http/dashboard.ts). `npm run build:dashboard`; npm install runs it.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/dashboard/',
  // Preact's automatic JSX runtime, compiled by Vite's own transform (no Babel).
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  logLevel: 'warn',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // The app is small: one script, no source maps shipped.
    sourcemap: false,
    reportCompressedSize: false,
  },
  server: { proxy: { '/graphql': { target: 'http://localhost:4000', ws: true } } },
});
