/**
 * The page map shared by the Vite build (multi-page input, dev POST→GET rewrite) and the Express
 * server (which serves the built HTML for GET and POST on every handler URL).
 * Plain data with type-only imports, so Node can import it without Vue or Vite.
 */
import type { PageName } from '../server/contracts/boot';

export interface PageEntry {
  /** Handler URL the portal opens (GET or POST). */
  route: string;
  /** Source HTML, relative to the project root; the build writes it to `dist/<html>`. */
  html: string;
  /** Whether the page uses the b24ui kit; the others must stay light (checked by the build). */
  kit: boolean;
}

/** Initial gzip budget (JS + CSS loaded before first paint) of a page without the kit. */
export const LIGHT_PAGE_BUDGET_BYTES = 100 * 1024;

/** Kept equal to install/plan.ts HANDLER_PATHS (checked by test/app/pages.test.ts). */
export const PAGES: Readonly<Record<PageName, PageEntry>> = {
  install: { route: '/b24/install', html: 'placements/install/index.html', kit: true },
  app: { route: '/b24/app', html: 'placements/app/index.html', kit: true },
  'left-menu': { route: '/b24/placements/left-menu', html: 'placements/left-menu/index.html', kit: false },
  'crm-tab': { route: '/b24/placements/crm-tab', html: 'placements/crm-tab/index.html', kit: false },
  connector: { route: '/b24/placements/connector', html: 'placements/connector/index.html', kit: true },
};

/** The literal comment the server replaces with the `<script id="omni-boot">` block. */
export const BOOT_PLACEHOLDER = '<!--omni-boot-->';

/** Page whose route equals the request path (query string ignored, one trailing slash tolerated). */
export function pageForPath(path: string): PageName | undefined {
  const clean = path.split('?')[0]!.replace(/(.)\/$/, '$1');
  return (Object.keys(PAGES) as PageName[]).find((name) => PAGES[name].route === clean);
}
