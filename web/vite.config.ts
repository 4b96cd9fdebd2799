import { defineConfig } from 'vite';

// The application is built into build/web, beside the trialcore program,
// which serves it at "/" (see `trialcore serve --web`); CMake names the
// folder in TRIALCORE_WEB_OUT.
export default defineConfig({
  base: '/',
  build: {
    outDir: process.env.TRIALCORE_WEB_OUT ?? '../build/web',
    emptyOutDir: true,
    sourcemap: true,
    chunkSizeWarningLimit: 600,
  },
  server: {
    // `npm run dev` proxies the API to a running `trialcore serve`.
    proxy: { '/api': 'http://127.0.0.1:8080' },
  },
});
