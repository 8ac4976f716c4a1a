import { existsSync } from 'node:fs';
import { chromium, type Browser, type Frame, type Page } from 'playwright-core';
import { note } from './browser-log';

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
export async function launchChromium(): Promise<Browser> {
  // every page (browser.newPage makes its context through newContext) reports to browser-log.ts
  const browser = await chromium.launch({ executablePath: chromiumPath(), headless: true, args: CHROMIUM_ARGS });
  const newContext = browser.newContext.bind(browser);
  browser.newContext = async (options) => {
    const context = await newContext(options);
    context.on('page', watchPage);
    return context;
  };
  return browser;
}

function watchPage(page: Page): void {
  const where = (url: string): string => {
    try {
      const u = new URL(url);
      return `${u.host}${u.pathname}`;
    } catch {
      return url.slice(0, 120);
    }
  };
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') note(`console.${m.type()} ${m.text().slice(0, 300)}`);
  });
  page.on('pageerror', (e) => note(`pageerror ${String(e).slice(0, 300)}`));
  page.on('requestfailed', (r) => note(`requestfailed ${r.method()} ${where(r.url())} ${r.failure()?.errorText ?? ''}`));
  page.on('response', (r) => {
    if (r.status() >= 400) note(`${r.status()} ${r.request().method()} ${where(r.url())}`);
  });
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
