import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Boot, PageName } from '../contracts/boot';

/**
 * Turns a built page (dist/placements/<page>/index.html) into the HTML a portal frame gets:
 * the boot block replaces the `<!--omni-boot-->` marker. In dev mode Vite transforms the
 * source HTML instead, so the same code path serves both.
 */
export interface PageRenderer {
  render(page: PageName, boot: Boot, url: string): Promise<string>;
}

export const BOOT_MARKER = '<!--omni-boot-->';

export function bootScript(boot: Boot): string {
  // JSON in a script element: `<` is escaped so no value can close the element.
  const json = JSON.stringify(boot).replace(/</g, '\\u003c');
  return `<script id="omni-boot" type="application/json">${json}</script>`;
}

export function createDistRenderer(distDir: string): PageRenderer {
  const cache = new Map<PageName, string>();
  return {
    async render(page, boot) {
      let html = cache.get(page);
      if (html === undefined) {
        html = await readFile(join(distDir, 'placements', page, 'index.html'), 'utf8').catch(() => {
          throw new Error(`page "${page}" is not built: run \`npm run build\` (looked in ${distDir})`);
        });
        cache.set(page, html);
      }
      return inject(html, boot);
    },
  };
}

export function createViteRenderer(vite: { transformIndexHtml(url: string, html: string): Promise<string> }, root: string): PageRenderer {
  return {
    async render(page, boot, url) {
      const source = await readFile(join(root, 'placements', page, 'index.html'), 'utf8');
      return inject(await vite.transformIndexHtml(url, source), boot);
    },
  };
}

function inject(html: string, boot: Boot): string {
  if (!html.includes(BOOT_MARKER)) throw new Error('page HTML has no <!--omni-boot--> marker');
  // a replacer function: a string replacement would expand `$'`, `$&`, `` $` `` found in the boot
  // values (PLACEMENT_OPTIONS comes from the request) into pieces of the page
  const script = bootScript(boot);
  return html.replace(BOOT_MARKER, () => script);
}
