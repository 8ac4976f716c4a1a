#!/usr/bin/env node
// The production server build (`npm run build`, after `vite build`): server/serve.ts and what it
// imports, bundled by esbuild into build/serve.js (ESM, Node 20, source map), the npm packages
// left as imports, so `node build/serve.js` runs with the production dependencies alone
// (`npm ci --omit=dev`): no tsx, no Vite. The SQL migrations are copied beside it (server/storage/db.ts
// reads them next to its own module). It fails when the bundle would contain anything from
// test/ (the emulators belong to the sandbox) or import a package that is not a runtime
// dependency in package.json. build/meta.json is esbuild's metafile (the module graph), which
// test/http/production-build.test.ts checks again.
import { build } from 'esbuild';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const out = join(root, 'build');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const runtime = new Set(Object.keys(pkg.dependencies ?? {}));
const builtins = new Set(builtinModules);

rmSync(out, { recursive: true, force: true });
const result = await build({
  absWorkingDir: root,
  entryPoints: ['server/serve.ts'],
  outfile: join(out, 'serve.js'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  sourcemap: true,
  metafile: true,
  logLevel: 'warning',
});

const problems = [];
for (const input of Object.keys(result.metafile.inputs)) {
  if (!/^(server|install)\//.test(input)) problems.push(`bundles ${input}: only server/ and install/ belong to the production server`);
}
const packageOf = (spec) => (spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]);
const externals = new Set();
for (const output of Object.values(result.metafile.outputs)) {
  for (const imp of output.imports) if (imp.external) externals.add(imp.path);
}
for (const spec of externals) {
  const name = spec.replace(/^node:/, '');
  if (spec.startsWith('node:') || builtins.has(name)) continue;
  if (!runtime.has(packageOf(spec))) problems.push(`imports "${spec}", which is not in package.json "dependencies"`);
}
if (problems.length) {
  console.error(`server build refused:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}

// SQL migrations are read from disk beside the module (server/storage/db.ts); migrations written
// as modules are part of the bundle already
// (SQLite: migrations/; PostgreSQL: migrations-pg/, server/storage/pg/migrate.ts)
for (const dir of ['migrations', 'migrations-pg']) {
  const from = join(root, 'server', 'storage', dir);
  const sql = existsSync(from) ? readdirSync(from).filter((f) => f.endsWith('.sql')) : [];
  if (sql.length) mkdirSync(join(out, dir));
  for (const f of sql) cpSync(join(from, f), join(out, dir, f));
}
writeFileSync(join(out, 'meta.json'), JSON.stringify(result.metafile));
const kB = (statSync(join(out, 'serve.js')).size / 1024).toFixed(0);
console.log(`server build: ${relative(root, join(out, 'serve.js'))} (${kB} kB, ${Object.keys(result.metafile.inputs).length} modules; packages: ${[...externals].filter((s) => !s.startsWith('node:')).sort().join(', ')})`);
