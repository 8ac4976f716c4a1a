/**
 * The production start as an operator runs it: `npm run build` (vite build, then
 * server/tools/build-server.mjs → build/serve.js), then `node build/serve.js`. The server is spawned
 * with plain node (no tsx), with a module recorder (test/support/record-modules.mjs) that logs
 * every module the process imports: nothing from test/ (the emulators), no TypeScript, no Vite or
 * tsx. The assets go out precompressed (brotli, gzip) by Accept-Encoding, cached for good when
 * hashed. The front end must be built first (`npm run build`; `npm test` does it).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../server/compose';
import { freePort } from '../support/server-process';

const BUILD = join(PROJECT_ROOT, 'build');
const ASSETS = join(PROJECT_ROOT, 'dist', 'assets');
const PROD_ENV = {
  B24_CLIENT_ID: 'app.0123456789abcd.12345678',
  B24_CLIENT_SECRET: 'production-build-test-secret',
  APP_SECRET_KEY: 'production-build-test-key-0123456789abcdef0123456789',
  APP_URL: 'https://omni.example',
  LOG_LEVEL: 'info',
};

let dir: string;

beforeAll(() => {
  if (!existsSync(join(PROJECT_ROOT, 'dist', 'placements'))) throw new Error('the front end is not built: run `npm run build` first');
  dir = mkdtempSync(join(tmpdir(), 'omni-prod-'));
  const b = spawnSync(process.execPath, ['server/tools/build-server.mjs'], { cwd: PROJECT_ROOT, encoding: 'utf8' });
  if (b.status !== 0) throw new Error(`server build failed:\n${b.stdout}\n${b.stderr}`);
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** `node [args] build/serve.js` with only the given environment (no NODE_OPTIONS, no tsx). */
function serve(env: Record<string, string>, args: string[] = []) {
  const child = spawn(process.execPath, [...args, join(BUILD, 'serve.js')], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', NODE_ENV: 'production', ...env },
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
  const exited = new Promise<number | null>((ok) => child.once('exit', (code) => ok(code)));
  return { child, exited, out: () => out, err: () => err };
}

interface Raw {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** A plain HTTP GET that neither adds an Accept-Encoding nor decodes the answer (fetch does both). */
function get(url: string, headers: Record<string, string> = {}): Promise<Raw> {
  return new Promise((ok, fail) => {
    const req = request(url, { headers: { connection: 'close', ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => ok({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', fail);
    req.end();
  });
}

describe('the production build', () => {
  it('bundles server/ and install/ only, and imports no package that is not a runtime dependency', () => {
    const meta = JSON.parse(readFileSync(join(BUILD, 'meta.json'), 'utf8')) as {
      inputs: Record<string, unknown>;
      outputs: Record<string, { imports: Array<{ path: string; external?: boolean }> }>;
    };
    const inputs = Object.keys(meta.inputs);
    expect(inputs).toContain('server/serve.ts');
    expect(inputs.filter((i) => !/^(server|install)\//.test(i))).toEqual([]);
    expect(inputs.filter((i) => i === 'server/main.ts' || i.includes('emulator'))).toEqual([]);
    const pkg = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; scripts: Record<string, string> };
    const packages = Object.values(meta.outputs)
      .flatMap((o) => o.imports)
      .filter((i) => i.external && !i.path.startsWith('node:'))
      .map((i) => (i.path.startsWith('@') ? i.path.split('/').slice(0, 2).join('/') : i.path.split('/')[0]!));
    expect(packages.filter((p) => !(p in pkg.dependencies))).toEqual([]);
    expect(readFileSync(join(BUILD, 'serve.js'), 'utf8')).not.toMatch(/startBitrixEmulator|startUisEmulator|from ["']vite["']/);
    // what the README and the Dockerfile run
    expect(pkg.scripts.build).toContain('server/tools/build-server.mjs');
    expect(pkg.scripts.serve).toMatch(/^node .*build\/serve\.js$/);
    // the migrations travel with the build (server/storage/db.ts reads them beside its module)
    const sql = readdirSync(join(PROJECT_ROOT, 'server', 'storage', 'migrations')).filter((f) => f.endsWith('.sql'));
    if (sql.length) expect(readdirSync(join(BUILD, 'migrations')).filter((f) => f.endsWith('.sql')).sort()).toEqual(sql.sort());
  });

  it('refuses to start without the production environment, saying what to set', async () => {
    const bare = serve({});
    expect(await bare.exited).toBe(2);
    expect(bare.err()).toMatch(/B24_CLIENT_ID/);
    expect(bare.err()).toMatch(/npm start/);

    const partial = serve({ B24_CLIENT_ID: PROD_ENV.B24_CLIENT_ID });
    expect(await partial.exited).toBe(2);
    for (const v of ['B24_CLIENT_SECRET', 'APP_SECRET_KEY', 'APP_URL']) expect(partial.err()).toContain(v);
  });

  it('starts with node from the build, answers /healthz and /readyz, serves compressed assets, stops on SIGTERM with 0, and never loads the emulators', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const modules = join(dir, 'modules.log');
    const db = join(dir, 'omni.db');
    // with the node flags of `npm run serve` (Node refuses a flag it does not know)
    const pkg = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    const flags = pkg.scripts.serve!.split(' ').filter((a) => a.startsWith('--'));
    const app = serve({ ...PROD_ENV, PORT: String(port), DATABASE_URL: `file:${db}`, OMNI_MODULE_LOG: modules }, [
      ...flags,
      '--import',
      pathToFileURL(join(PROJECT_ROOT, 'test/support/record-modules.mjs')).href,
    ]);
    try {
      for (let i = 0; i < 400 && !app.out().includes('UIS OMNI listening'); i++) {
        if (app.child.exitCode !== null) break;
        await new Promise((r) => setTimeout(r, 25));
      }
      expect(app.out(), app.err()).toContain('UIS OMNI listening');

      expect((await get(`${url}/healthz`)).status).toBe(200);
      const ready = await get(`${url}/readyz`);
      expect(ready.status).toBe(200);
      expect(JSON.parse(ready.body.toString())).toEqual({ status: 'ready' });

      // the largest script: compressed copies exist (the build wrote them) and go out by Accept-Encoding
      const script = readdirSync(ASSETS)
        .filter((f) => f.endsWith('.js'))
        .sort((a, b) => readFileSync(join(ASSETS, b)).length - readFileSync(join(ASSETS, a)).length)[0]!;
      const original = readFileSync(join(ASSETS, script));
      expect(existsSync(join(ASSETS, `${script}.br`)), 'dist/assets has no .br copies: run `npm run build`').toBe(true);

      const plain = await get(`${url}/assets/${script}`);
      expect(plain.status).toBe(200);
      expect(plain.headers['content-encoding']).toBeUndefined();
      expect(plain.headers.vary).toMatch(/Accept-Encoding/i);
      expect(plain.headers['content-type']).toMatch(/javascript/);
      expect(plain.headers['cache-control']).toBe('public, max-age=31536000, immutable');
      expect(plain.body.equals(original)).toBe(true);

      const br = await get(`${url}/assets/${script}`, { 'accept-encoding': 'gzip, deflate, br, zstd' });
      expect(br.headers['content-encoding']).toBe('br');
      expect(br.headers.vary).toMatch(/Accept-Encoding/i);
      expect(br.headers['content-type']).toMatch(/javascript/);
      expect(br.headers['cache-control']).toBe('public, max-age=31536000, immutable');
      expect(br.body.length).toBeLessThan(original.length / 2);
      expect(brotliDecompressSync(br.body).equals(original)).toBe(true);

      const gz = await get(`${url}/assets/${script}`, { 'accept-encoding': 'gzip' });
      expect(gz.headers['content-encoding']).toBe('gzip');
      expect(gunzipSync(gz.body).equals(original)).toBe(true);

      // a client that refuses brotli, and one that refuses everything but identity
      expect((await get(`${url}/assets/${script}`, { 'accept-encoding': 'br;q=0, gzip;q=0.5' })).headers['content-encoding']).toBe('gzip');
      expect((await get(`${url}/assets/${script}`, { 'accept-encoding': 'identity' })).headers['content-encoding']).toBeUndefined();
      // the compressed copies are not addressable themselves, a missing asset is a 404
      expect((await get(`${url}/assets/${script}.br`)).status).toBe(404);
      expect((await get(`${url}/assets/nope-12345678.js`)).status).toBe(404);

      app.child.kill('SIGTERM');
      expect(await app.exited).toBe(0);
    } finally {
      if (app.child.exitCode === null) app.child.kill('SIGKILL');
    }

    // the SQL migrations were found beside the build and applied (/readyz answered after they ran;
    // migrations written as modules travel in the bundle)
    const sql = readdirSync(join(PROJECT_ROOT, 'server', 'storage', 'migrations')).filter((f) => f.endsWith('.sql'));
    if (sql.length) {
      const conn = new Database(db, { readonly: true });
      try {
        expect((conn.prepare('SELECT count(*) AS n FROM schema_migrations').get() as { n: number }).n).toBe(sql.length);
      } finally {
        conn.close();
      }
    }

    // the module graph of the running process: the build and npm packages, nothing of the sandbox
    const loaded = readFileSync(modules, 'utf8').trim().split('\n');
    const root = pathToFileURL(PROJECT_ROOT).href;
    expect(loaded).toContain(pathToFileURL(join(BUILD, 'serve.js')).href);
    expect(loaded.filter((u) => u.startsWith(`${root}/test/`) || u.startsWith(`${root}/server/`))).toEqual([]);
    expect(loaded.filter((u) => /\.(ts|vue)$/.test(u))).toEqual([]);
    expect(loaded.filter((u) => /\/node_modules\/(vite|vitest|tsx|esbuild|playwright-core|@bitrix24)\//.test(u))).toEqual([]);
  });
});
