import { defineConfig } from 'vitest/config';
import vue from '@vitejs/plugin-vue';

/**
 * Node by default: tests start real servers (port 0) and headless Chromium, hence the generous
 * timeouts and separate processes. Two projects, run one after the other: the files without a
 * browser two at a time (the CI machine has 2 cores), then the files that drive Chromium one at a
 * time — a Chromium page beside another file's Chromium and servers on 2 cores starved both (CI of
 * stop 18 timed out waiting for a select option and a save notice that show at once when alone).
 * Browser tests load the built dist/ (`vite build` first), never a dev server.
 */
const BROWSER = [
  'test/browser/**/*.test.ts',
  'test/app/*-in-browser.test.ts',
  // emulator suites that open the emulated pages in Chromium
  'test/emulator/amocrm.test.ts',
  'test/emulator/bitrix-openlines.test.ts',
  'test/emulator/bitrix-telephony.test.ts',
  'test/emulator/bitrix.test.ts',
  'test/emulator/jivo.test.ts',
  'test/emulator/uis-pbx.test.ts',
  'test/emulator/uis.test.ts',
];

/**
 * The server suites again with every server on PostgreSQL (TEST_STORE=postgres, test/support/
 * test-store.ts: a schema per harness, one per child-process world). The storage contract tests
 * run both stores in the `node` project already (forEachStore). A test that sets up or checks a
 * state no port offers does it through `h.sql` / storeSnapshot (test/support/store-sql.ts,
 * db-snapshot.ts), on either store. Left out: the files that still read or write the SQLite file
 * directly.
 */
const SQLITE_ONLY = [
  // builds and starts the production bundle on its own SQLite file
  'test/http/production-build.test.ts',
];

export default defineConfig({
  plugins: [vue()],
  test: {
    environment: 'node',
    setupFiles: ['test/support/failure-log.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // expect.poll waits for an outcome in the page or the server: 1 s (vitest's default) is too
    // short for a loaded 2-core machine
    expect: { poll: { timeout: 15_000 } },
    projects: [
      {
        extends: true,
        test: { name: 'node', include: ['test/**/*.test.ts'], exclude: BROWSER, maxWorkers: 2, fileParallelism: true, sequence: { groupOrder: 0 } },
      },
      {
        extends: true,
        test: {
          name: 'node-pg',
          include: ['test/http/**/*.test.ts'],
          exclude: SQLITE_ONLY,
          env: { TEST_STORE: 'postgres' },
          globalSetup: ['test/support/pg-project-teardown.ts'],
          maxWorkers: 2,
          fileParallelism: true,
          sequence: { groupOrder: 1 },
        },
      },
      {
        extends: true,
        test: { name: 'browser', include: BROWSER, maxWorkers: 1, fileParallelism: false, sequence: { groupOrder: 2 } },
      },
    ],
  },
});
