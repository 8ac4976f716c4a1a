import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Browser } from 'playwright-core';
import { PROJECT_ROOT } from '../../server/compose';
import { createDistRenderer } from '../../server/http/page-renderer';
import { appFrame, launchChromium } from '../support/browser';
import { api, installApp, openPage, startHarness, type Harness } from '../support/harness';

/**
 * The operator workspace pages (issue #5): what each entry weighs as served from dist/ (gzip,
 * JS + CSS, everything it loads — the static import graph and any dynamic import), and the time
 * from the portal inserting our iframe to the UIS workspace frame having loaded inside it, in
 * headless Chromium on loopback against the emulators. Real time (browsers run on their own clock).
 */
export interface EntryWeight {
  page: string;
  initialBytes: number;
  totalBytes: number;
  /** What a browser receives for everything the entry loads, as the server sends it (the .br copies, else the file). */
  wireBytes: number;
}

export interface ShowTiming {
  name: string;
  runsMs: number[];
}

const DIST = join(PROJECT_ROOT, 'dist');

/** Gzip weight of a built page: the assets its HTML names, their static imports, then dynamic ones. */
export function weighEntry(page: string): EntryWeight {
  const html = readFileSync(join(DIST, 'placements', page, 'index.html'), 'utf8');
  const refs = (text: string, dynamic: boolean): string[] => {
    const out: string[] = [];
    const re = dynamic ? /import\(\s*["']\.\/([\w.-]+\.(?:js|css))["']\s*\)|["']assets\/([\w.-]+\.(?:js|css))["']/g : /(?:from\s*|import\s*)["']\.\/([\w.-]+\.(?:js|css))["']/g;
    for (const m of text.matchAll(re)) out.push((m[1] ?? m[2])!);
    return out;
  };
  const gz = (name: string) => gzipSync(readFileSync(join(DIST, 'assets', name))).length;
  const initial = new Set<string>([...html.matchAll(/(?:src|href)="\/assets\/([\w.-]+\.(?:js|css))"/g)].map((m) => m[1]!));
  const grow = (set: Set<string>, dynamic: boolean) => {
    for (let changed = true; changed; ) {
      changed = false;
      for (const name of [...set]) {
        if (!name.endsWith('.js')) continue;
        const text = readFileSync(join(DIST, 'assets', name), 'utf8');
        for (const r of [...refs(text, false), ...(dynamic ? refs(text, true) : [])]) {
          if (!set.has(r) && existsSync(join(DIST, 'assets', r))) {
            set.add(r);
            changed = true;
          }
        }
      }
    }
  };
  grow(initial, false);
  const all = new Set(initial);
  grow(all, true);
  const sum = (s: Set<string>) => [...s].reduce((t, n) => t + gz(n), 0);
  const wire = (name: string) => readFileSync(join(DIST, 'assets', existsSync(join(DIST, 'assets', `${name}.br`)) ? `${name}.br` : name)).length;
  return { page, initialBytes: sum(initial), totalBytes: sum(all), wireBytes: [...all].reduce((t, n) => t + wire(n), 0) };
}

/** Records, in the portal page, when its frame controller inserts the app iframe (epoch ms). */
const MARK_INSERTION = () => {
  if (window !== window.top) return;
  new MutationObserver((records, obs) => {
    for (const r of records) {
      for (const n of Array.from(r.addedNodes)) {
        if (n instanceof HTMLIFrameElement && n.classList.contains('app-frame')) {
          (window as unknown as { __omniInsertedAt: number }).__omniInsertedAt = performance.timeOrigin + performance.now();
          obs.disconnect();
        }
      }
    }
  }).observe(document, { childList: true, subtree: true });
};

async function timeOnce(browser: Browser, url: string, tab: string | null, path: string): Promise<number> {
  const context = await browser.newContext();
  try {
    await context.addInitScript(MARK_INSERTION);
    const page = await context.newPage();
    await page.goto(url);
    if (tab) await page.locator(`a.tab[data-placement="${tab}"]`).click();
    else await page.locator('nav.left-menu a[data-placement="LEFT_MENU"]').click();
    const app = await appFrame(page, path, 25);
    const shownAt = await app.waitForFunction(
      () => {
        const m = performance.getEntriesByName('omni:workspace-shown')[0];
        return m ? performance.timeOrigin + m.startTime : null;
      },
      undefined,
      { timeout: 20_000, polling: 10 },
    );
    const inserted = await page.evaluate(() => (window as unknown as { __omniInsertedAt?: number }).__omniInsertedAt ?? NaN);
    return (await shownAt.jsonValue())! - inserted;
  } finally {
    await context.close();
  }
}

/** Left menu and a lead card: `runs` fresh browser contexts each (cold cache every time). */
export async function benchWorkspace(o: { runs: number }): Promise<{ weights: EntryWeight[]; timings: ShowTiming[] }> {
  if (!existsSync(join(DIST, 'placements', 'left-menu', 'index.html'))) throw new Error('dist/ is not built: run `npm run build` first');
  const weights = ['left-menu', 'crm-tab'].map(weighEntry);
  const h: Harness = await startHarness({ renderer: createDistRenderer(DIST), env: { LOG_LEVEL: 'warn' } });
  let browser: Browser | undefined;
  try {
    await installApp(h);
    const acc = h.uis.accounts[0]!;
    const admin = (await openPage(h.portal, { handlerUrl: `${h.app.url}/b24/app` })).boot.session!;
    await api(h.app.url, admin, 'POST', '/api/uis/link', { project: 'uis', login: acc.login, password: acc.password, dataApiToken: acc.dataApiToken });
    await acc.settle();
    await acc.visitorWrite({ channelType: 'whatsapp', visitor: { phone: '+79161234567' }, text: 'Здравствуйте' });
    browser = await launchChromium();
    const timings: ShowTiming[] = [
      { name: 'left menu → workspace', runsMs: [] },
      { name: 'lead card tab → workspace on the client', runsMs: [] },
    ];
    for (let i = 0; i < o.runs; i++) {
      timings[0]!.runsMs.push(await timeOnce(browser, `${h.portal.origin}/?user=1`, null, '/b24/placements/left-menu'));
      timings[1]!.runsMs.push(await timeOnce(browser, `${h.portal.origin}/crm/lead/details/1/?user=2`, 'CRM_LEAD_DETAIL_TAB', '/b24/placements/crm-tab'));
    }
    return { weights, timings };
  } finally {
    await browser?.close();
    await h.close();
  }
}
