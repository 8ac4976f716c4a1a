import { existsSync } from 'node:fs';
import { chromium, type Browser, type Frame, type Page } from 'playwright-core';

const DEFAULT_CHROMIUM = '/usr/bin/chromium';

/** Flags for a quiet, sandbox-free headless run in containers and CI. */
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** The Chromium binary: `CHROMIUM_PATH`, else Debian's /usr/bin/chromium; a clear error when absent. */
export function chromiumPath(): string {
  const path = process.env.CHROMIUM_PATH || DEFAULT_CHROMIUM;
  if (!existsSync(path)) {
    throw new Error(
      `Chromium not found at ${path}. Install it with \`apt-get install -y chromium\` ` +
        'or point CHROMIUM_PATH at a Chromium/Chrome binary.',
    );
  }
  return path;
}

/**
 * Launches headless Chromium (playwright-core driving the system binary). Every launch gets a
 * fresh user-data dir: playwright creates a temporary profile (`playwright_chromiumdev_profile-*`)
 * and deletes it on close — it refuses a `--user-data-dir` argument.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath(), headless: true, args: CHROMIUM_ARGS });
}

/** The frame the emulated portal opened for our handler at `path` (looks every `pollMs`, ~10 s in all). */
export async function appFrame(page: Page, path: string, pollMs = 50): Promise<Frame> {
  for (let i = 0; i < 10_000 / pollMs; i++) {
    const f = page.frames().find((fr) => fr.url().startsWith('http') && new URL(fr.url()).pathname === path);
    if (f) return f;
    await page.waitForTimeout(pollMs);
  }
  throw new Error(`no frame for ${path}; frames: ${page.frames().map((f) => f.url()).join(', ')}`);
}
