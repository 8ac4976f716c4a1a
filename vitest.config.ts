import { defineConfig } from 'vitest/config';
import vue from '@vitejs/plugin-vue';

/**
 * Node by default: tests start real servers (port 0) and headless Chromium, hence the generous
 * timeouts, separate processes and at most two files at once (the CI machine has 2 cores).
 * Browser tests load the built dist/ (`vite build` first), never a dev server.
 */
export default defineConfig({
  plugins: [vue()],
  test: {
    environment: 'node',
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/support/failure-log.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: true,
    maxWorkers: 2,
  },
});
