#!/usr/bin/env node
/* global process, console, setTimeout, clearTimeout */
// The production start as the Dockerfile's runtime stage has it, checked by .ci/run after
// `npm run build`: a directory holding only package.json, the production packages
// (`npm ci --omit=dev`), build/ and dist/, started with package.json's "serve" command under
// NODE_ENV=production (exec'd by sh, not through npm, which reports its own death by the signal).
// It must answer /healthz and /readyz, serve a compressed asset, install nothing, and exit 0 on
// SIGTERM. The compiled better-sqlite3 addon is copied from this checkout (the same locked version)
// instead of being compiled a second time.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = process.cwd();
const dir = mkdtempSync(join(tmpdir(), 'omni-prod-start-'));
const started = Date.now();
const fail = (msg) => {
  console.error(`production start check failed: ${msg}`);
  process.exitCode = 1;
};

function get(url, headers = {}) {
  return new Promise((ok) => {
    const req = request(url, { headers: { connection: 'close', ...headers } }, (res) => {
      res.resume();
      res.on('end', () => ok({ status: res.statusCode, headers: res.headers }));
    });
    req.on('error', () => ok({ status: 0, headers: {} }));
    // an answer that never comes is a failure, not a hang
    req.setTimeout(5000, () => req.destroy());
    req.end();
  });
}

async function freePort() {
  const srv = createServer();
  await new Promise((ok) => srv.listen(0, '127.0.0.1', ok));
  const { port } = srv.address();
  await new Promise((ok) => srv.close(ok));
  return port;
}

async function checkStart(dir, database, label) {
  const started = Date.now();
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const serve = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).scripts.serve;
  const app = spawn('sh', ['-c', `exec ${serve}`], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_ENV: 'production',
      PORT: String(port),
      HOST: '127.0.0.1',
      APP_URL: 'https://omni.ci.invalid',
      ...database,
      B24_CLIENT_ID: 'app.ci.check',
      B24_CLIENT_SECRET: 'ci-check-secret',
      APP_SECRET_KEY: 'ci-check-key-0123456789abcdef0123456789abcdef',
      LOG_LEVEL: 'warn',
    },
  });
  const exited = new Promise((ok) => app.once('exit', (code, signal) => ok(signal ?? code)));
  let ready = 0;
  for (let i = 0; i < 300 && !ready && app.exitCode === null; i++) {
    if ((await get(`${url}/readyz`)).status === 200) ready = Date.now();
    else await new Promise((r) => setTimeout(r, 100));
  }
  if (!ready) throw new Error('/readyz never answered 200');
  if ((await get(`${url}/healthz`)).status !== 200) throw new Error('/healthz is not 200');
  const script = readdirSync(join(dir, 'dist', 'assets')).find((f) => f.endsWith('.js.br'))?.slice(0, -3);
  const asset = await get(`${url}/assets/${script}`, { 'accept-encoding': 'gzip, deflate, br' });
  if (asset.status !== 200 || asset.headers['content-encoding'] !== 'br') throw new Error(`/assets/${script}: ${asset.status} ${asset.headers['content-encoding']}`);
  app.kill('SIGTERM');
  const timer = setTimeout(() => app.kill('SIGKILL'), 20_000);
  const code = await exited;
  clearTimeout(timer);
  if (code !== 0) throw new Error(`exit ${code} after SIGTERM`);
  console.log(`production start on ${label}: ready ${ready - started} ms after the start, exit 0 on SIGTERM`);
}

try {
  for (const f of ['package.json', 'package-lock.json']) cpSync(join(root, f), join(dir, f));
  const ci = spawnSync('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: dir, stdio: 'inherit' });
  if (ci.status !== 0) throw new Error('npm ci --omit=dev failed');
  const addon = 'node_modules/better-sqlite3/build/Release/better_sqlite3.node';
  cpSync(join(root, addon), join(dir, addon));
  for (const d of ['build', 'dist']) cpSync(join(root, d), join(dir, d), { recursive: true });
  const packages = readdirSync(join(dir, 'node_modules')).filter((n) => !n.startsWith('.'));
  for (const dev of ['vite', 'tsx', 'vitest', 'esbuild', 'vue', '@bitrix24']) if (packages.includes(dev)) throw new Error(`${dev} is installed by npm ci --omit=dev`);

  await checkStart(dir, { DATABASE_URL: `file:${join(dir, 'data', 'omni.db')}` }, 'SQLite');
  // the same bundle on PostgreSQL (the machine's, a fresh schema): migrations-pg beside it, applied at start
  const schema = `ci_prod_${process.pid}`;
  try {
    await checkStart(dir, { DATABASE_URL: process.env.CI_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test', DATABASE_SCHEMA: schema }, 'PostgreSQL');
  } finally {
    spawnSync('psql', ['-h', '127.0.0.1', '-U', 'postgres', '-d', 'test', '-qc', `DROP SCHEMA IF EXISTS ${schema} CASCADE`], { stdio: 'ignore' });
  }
  const after = readdirSync(join(dir, 'node_modules')).filter((n) => !n.startsWith('.'));
  if (after.length !== packages.length) throw new Error('the start installed packages');
  console.log(`production start: OK on SQLite and PostgreSQL (production packages only: ${packages.length} in node_modules, ${Date.now() - started} ms in all)`);
} catch (e) {
  fail(e instanceof Error ? e.message : String(e));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
