import { beforeEach } from 'vitest';
import { takeBrowserLog } from './browser-log';

/**
 * A setup file (vitest.config.ts): when a test fails, print what its Chromium pages logged
 * (console errors, uncaught errors, failed and ≥ 400 requests), so a failure in CI names its cause.
 */
beforeEach(({ onTestFailed }) => {
  takeBrowserLog();
  onTestFailed(() => {
    const lines = takeBrowserLog();
    if (lines.length > 0) console.error(`[browser log of the failed test]\n${lines.join('\n')}`);
  });
});
