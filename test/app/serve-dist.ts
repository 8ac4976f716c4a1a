import { existsSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Boot } from '../../server/contracts/boot';
import { BOOT_PLACEHOLDER, PAGES, pageForPath } from '../../placements/pages';

export const DIST = fileURLToPath(new URL('../../dist/', import.meta.url));

const TYPES: Record<string, string> = { '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml' };

/** Fails loudly (never skips) when the build is missing: browser tests load the real dist/. */
export function assertBuilt(): void {
  const missing = Object.values(PAGES).filter((p) => !existsSync(join(DIST, p.html)));
  if (missing.length > 0) {
    throw new Error(`dist/ is not built (missing ${missing.map((p) => p.html).join(', ')}). Run \`npx vite build\` first.`);
  }
}

/** The boot block exactly as the server embeds it; `<` escaped so JSON cannot close the script. */
export function bootScript(boot: Boot): string {
  const json = JSON.stringify(boot).replace(/</g, '\\u003c');
  return `<script id="omni-boot" type="application/json">${json}</script>`;
}

export interface DistServer {
  url: string;
  close(): Promise<void>;
}

export type ApiHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => void;

/**
 * Serves dist/ like the Express server does, minus everything else: GET/POST on page routes →
 * built HTML with the boot block from `bootFor`; /assets/* → files. Port 0.
 * `bootFor` returning null leaves the placeholder in (a page served without boot); `/api/*` goes to
 * `api` (404 without one).
 */
export async function serveDist(
  bootFor: (page: keyof typeof PAGES, url: URL) => Boot | null,
  api?: ApiHandler,
): Promise<DistServer> {
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (api && url.pathname.startsWith('/api/')) {
      api(req, res, url);
      return;
    }
    const page = pageForPath(url.pathname);
    if (page && (req.method === 'GET' || req.method === 'POST')) {
      const boot = bootFor(page, url);
      const html = readFileSync(join(DIST, PAGES[page].html), 'utf8');
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(boot ? html.replace(BOOT_PLACEHOLDER, bootScript(boot)) : html);
      return;
    }
    const file = normalize(join(DIST, url.pathname));
    if (url.pathname.startsWith('/assets/') && file.startsWith(join(DIST, 'assets')) && existsSync(file)) {
      res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
      res.end(readFileSync(file));
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The JSON body of a request the stubbed API received. */
export async function readJson<T = unknown>(req: IncomingMessage): Promise<T> {
  let text = '';
  for await (const chunk of req) text += String(chunk);
  return JSON.parse(text) as T;
}
