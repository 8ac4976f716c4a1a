/**
 * Multi-page build: one HTML entry per Bitrix24 handler (placements/pages.ts).
 * Output: dist/placements/<name>/index.html + dist/assets/*; the server swaps `<!--omni-boot-->`
 * for the boot block and serves /assets from dist/assets.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { brotliCompress, constants as zlib, gzip, gzipSync } from 'node:zlib';
import { defineConfig, type Plugin } from 'vite';
import type { OutputBundle } from 'rollup';
import vue from '@vitejs/plugin-vue';
import bitrix24UIPluginVite from '@bitrix24/b24ui-nuxt/vite';
import type { PageName } from './server/contracts/boot';
import { LIGHT_PAGE_BUDGET_BYTES, PAGES, pageForPath } from './placements/pages';

const root = fileURLToPath(new URL('.', import.meta.url));

/**
 * The portal opens every handler URL with a form POST (shared/reference/frame-and-sdk.md §1.3, §10.7);
 * Vite's dev server answers 404 to POST. Rewrite GET/POST on a page route to its HTML file.
 * Standalone `vite` only: in middleware mode (server/main.ts --dev) Express owns the page routes and
 * injects the boot block, so a rewrite there would only hide its routes.
 */
function placementRoutes(): Plugin {
  return {
    name: 'omni:placement-routes',
    configureServer(server) {
      if (server.config.server.middlewareMode) return;
      server.middlewares.use((req, _res, next) => {
        const [path = '', query] = (req.url ?? '').split('?');
        const page = pageForPath(path);
        if (page && (req.method === 'GET' || req.method === 'POST' || req.method === 'HEAD')) {
          if (req.method === 'POST') req.method = 'GET';
          req.url = `/${PAGES[page].html}${query === undefined ? '' : `?${query}`}`;
        }
        next();
      });
    },
  };
}

interface PageWeight {
  initial: number;
  lazy: number;
  usesKit: boolean;
}

/** Gzip weight of one entry: its chunk, static imports and their CSS (initial), plus dynamic imports (lazy). */
function weighPage(bundle: OutputBundle, entry: string): PageWeight {
  const gz = (name: string): number => {
    const item = bundle[name];
    if (!item) return 0;
    return gzipSync(item.type === 'chunk' ? item.code : item.source).length;
  };
  const initial = new Set<string>();
  const lazy = new Set<string>();
  let usesKit = false;
  const visit = (name: string): void => {
    const c = bundle[name];
    if (initial.has(name) || !c || c.type !== 'chunk') return;
    initial.add(name);
    usesKit ||= Object.keys(c.modules).some((id) => id.includes('/@bitrix24/b24ui-nuxt/'));
    c.viteMetadata?.importedCss.forEach((css) => initial.add(css));
    c.imports.forEach(visit);
    c.dynamicImports.forEach((d) => lazy.add(d));
  };
  visit(entry);
  const sum = (names: Iterable<string>): number => [...names].reduce((total, n) => total + gz(n), 0);
  return { initial: sum(initial), lazy: sum([...lazy].filter((n) => !initial.has(n))), usesKit };
}

/** Pages that frame the UIS operator workspace: their whole load, lazy chunks included, is budgeted. */
const WORKSPACE_PAGES: readonly PageName[] = ['left-menu', 'crm-tab'];

/** Prints every page's gzip weight and fails the build when a light page pulls the kit or exceeds its budget. */
function pageWeights(): Plugin {
  return {
    name: 'omni:page-weights',
    apply: 'build',
    generateBundle(_options, bundle) {
      const kB = (n: number): string => `${(n / 1024).toFixed(1)} kB`;
      const lines: string[] = [];
      for (const chunk of Object.values(bundle)) {
        if (chunk.type !== 'chunk' || !chunk.isEntry) continue;
        const page = chunk.name as PageName;
        if (!(page in PAGES)) continue;
        const w = weighPage(bundle, chunk.fileName);
        lines.push(`  ${page.padEnd(10)} initial ${kB(w.initial)}, lazy +${kB(w.lazy)} (gzip, js + css)`);
        if (!PAGES[page].kit && w.usesKit) this.error(`${page} must not load @bitrix24/b24ui-nuxt`);
        if (!PAGES[page].kit && w.initial > LIGHT_PAGE_BUDGET_BYTES) {
          this.error(`${page} weighs ${kB(w.initial)} gzip before first paint, over ${kB(LIGHT_PAGE_BUDGET_BYTES)}`);
        }
        // The workspace pages count everything they load to show the workspace, lazy chunks too (issue #5).
        if (WORKSPACE_PAGES.includes(page) && w.initial + w.lazy > LIGHT_PAGE_BUDGET_BYTES) {
          this.error(`${page} loads ${kB(w.initial + w.lazy)} gzip in all, over ${kB(LIGHT_PAGE_BUDGET_BYTES)}`);
        }
      }
      this.info(`page weights:\n${lines.sort().join('\n')}`);
    },
  };
}

/**
 * A brotli (`.br`, quality 11) and a gzip (`.gz`, level 9) copy beside every compressible asset,
 * so the server sends them as they are (server/http/static-assets.ts) and no proxy needs to
 * compress. Copies that would not be smaller are not written.
 */
function precompress(): Plugin {
  const br = promisify(brotliCompress);
  const gz = promisify(gzip);
  return {
    name: 'omni:precompress',
    apply: 'build',
    async writeBundle(options, bundle) {
      const dir = options.dir ?? join(root, 'dist');
      const names = Object.keys(bundle).filter((n) => n.startsWith('assets/') && /\.(js|mjs|css|svg|json|txt|map)$/.test(n));
      await Promise.all(
        names.map(async (name) => {
          const file = join(dir, name);
          const raw = await readFile(file);
          if (raw.length < 1024) return;
          const [b, g] = await Promise.all([
            br(raw, { params: { [zlib.BROTLI_PARAM_QUALITY]: 11, [zlib.BROTLI_PARAM_SIZE_HINT]: raw.length } }),
            gz(raw, { level: 9 }),
          ]);
          if (b.length < raw.length) await writeFile(`${file}.br`, b);
          if (g.length < raw.length) await writeFile(`${file}.gz`, g);
        }),
      );
    },
  };
}

/**
 * Stable, readable shared chunks. Every other package lands in `b24ui`, which only the kit pages
 * may load: if a light page ever imports one of them, pageWeights() fails the build.
 */
function manualChunks(id: string): string | undefined {
  if (!id.includes('/node_modules/')) return undefined;
  if (/\/node_modules\/(@vue|vue|pinia|zod)\//.test(id)) return 'vendor';
  if (/\/node_modules\/(@bitrix24\/b24jssdk|luxon|axios|qs-esm)\//.test(id)) return 'b24jssdk';
  return 'b24ui';
}

export default defineConfig({
  root,
  base: '/',
  plugins: [
    vue(),
    // Only install/ and app/ import the kit's CSS and B24* components; the other pages stay plain.
    // colorMode off: the portal is light, and it would need localStorage in a third-party iframe;
    // componentDetection: CSS only for the B24* components our sources use (53 → 35 kB gzip).
    // checkbox.defaultVariants.variant: the kit renders a checkbox's label as a <label for> only
    // when `variant` is passed (its theme default 'list' is not seen by the template): set it for all.
    bitrix24UIPluginVite({
      colorMode: false,
      router: false,
      experimental: { componentDetection: true },
      b24ui: { checkbox: { defaultVariants: { variant: 'list' } } },
    }),
    placementRoutes(),
    pageWeights(),
    precompress(),
  ],
  build: {
    outDir: 'dist',
    assetsDir: 'assets',
    emptyOutDir: true,
    // The kit chunk is ~500 kB minified by nature; page budgets are enforced by pageWeights().
    chunkSizeWarningLimit: 600,
    rollupOptions: {
      input: Object.fromEntries(Object.entries(PAGES).map(([name, page]) => [name, `${root}${page.html}`])),
      output: { manualChunks },
    },
  },
});
