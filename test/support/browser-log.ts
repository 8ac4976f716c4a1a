/**
 * What the Chromium pages of the current test said that a failure should show (browser.ts notes
 * it; failure-log.ts prints it when a test fails): console errors and warnings, uncaught errors,
 * requests that failed or were answered ≥ 400. A CI log then says why a locator never showed.
 * No playwright import here: every test file loads it through the setup file.
 */
const lines: string[] = [];
const LIMIT = 200;

export function note(line: string): void {
  lines.push(`${new Date().toISOString().slice(11, 23)} ${line}`);
  if (lines.length > LIMIT) lines.splice(0, lines.length - LIMIT);
}

/** The log so far, then cleared. */
export function takeBrowserLog(): string[] {
  return lines.splice(0, lines.length);
}
