#!/usr/bin/env node
/* global setInterval, clearInterval */
// Runs before `npm start` and `npm test` (npm pre-scripts) so that the README's two commands work
// on a fresh machine: installs the npm dependencies when they are missing (`npm ci`, the lock as
// it is) or older than the lock file (`npm install`, which keeps what is built), and — for tests —
// Debian's Chromium when it is missing. Each slow step says first what it does and roughly how
// long it takes, then shows progress. Plain Node, no dependencies. The production start
// (`npm run serve`) never runs this: it installs nothing.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 19)) {
  console.error(`UIS OMNI needs Node.js 20.19 or newer (this is ${process.versions.node}).`);
  process.exit(1);
}

const started = Date.now();
const took = (since = started) => {
  const s = Math.round((Date.now() - since) / 1000);
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
};
const cores = availableParallelism();
const SQLITE_ADDON = 'node_modules/better-sqlite3/build/Release/better_sqlite3.node';

/**
 * Runs `npm args…`; its output is handed line by line to `onLine` (default: printed), and `tick`
 * is called every `tickMs` while it runs. Resolves with the exit code and the last 60 lines.
 */
function npm(args, { onLine = (l) => console.log(l), tick, tickMs = 15_000 } = {}) {
  return new Promise((resolve) => {
    const child = spawn('npm', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const tail = [];
    let rest = '';
    const take = (chunk) => {
      const lines = (rest + chunk.toString('utf8')).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) {
        tail.push(line);
        if (tail.length > 60) tail.shift();
        onLine(line);
      }
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    const timer = tick ? setInterval(tick, tickMs) : undefined;
    child.on('close', (code) => {
      clearInterval(timer);
      if (rest) take('\n');
      resolve({ code, tail });
    });
  });
}

function fail(what, tail, hint) {
  console.error(`\n${what} failed. Its last lines:\n${tail.join('\n')}`);
  if (hint) console.error(`\n${hint}`);
  process.exit(1);
}

/** Top-level packages the lock installs on this platform, and how many are in node_modules now. */
function packageCount() {
  const lock = JSON.parse(readFileSync('package-lock.json', 'utf8'));
  const fits = (list, value) => !list || list.some((x) => x === value) || (list.every((x) => x.startsWith('!')) && !list.includes(`!${value}`));
  const expected = Object.entries(lock.packages ?? {}).filter(
    ([path, p]) => /^node_modules\/(@[^/]+\/)?[^/]+$/.test(path) && fits(p.os, process.platform) && fits(p.cpu, process.arch),
  ).length;
  // npm creates every package's folder first and fills them as the downloads arrive
  const installed = () => {
    if (!existsSync('node_modules')) return 0;
    let n = 0;
    for (const name of readdirSync('node_modules')) {
      if (name.startsWith('.')) continue;
      const dirs = name.startsWith('@') ? readdirSync(`node_modules/${name}`).map((s) => `${name}/${s}`) : [name];
      for (const d of dirs) if (existsSync(`node_modules/${d}/package.json`)) n++;
    }
    return n;
  };
  return { expected, installed };
}

/** better-sqlite3's install script: a prebuilt binary (seconds) or, failing that, a compile from source. */
async function buildSqlite() {
  const t = Date.now();
  let compiling = false;
  const step = (line) => {
    if (/^prebuild-install (warn|WARN|err)/.test(line)) {
      console.log(`  no prebuilt better-sqlite3 binary for Node ${process.versions.node} ${process.platform}-${process.arch} (${line.replace(/^prebuild-install \w+ (install )?/, '')})`);
    } else if (!compiling && /^gyp info (it worked|using node-gyp)/.test(line)) {
      compiling = true;
      console.log(`  compiling SQLite and its Node binding from source: about 2–3 minutes of CPU (${cores} cores here; longer while the machine is busy)…`);
    } else if (/CC\(target\).*sqlite3\.o/.test(line)) console.log('  … compiling sqlite3.c (the longest step)');
    else if (/CXX\(target\).*better_sqlite3\.o/.test(line)) console.log('  … compiling the Node binding (better_sqlite3.cpp)');
    else if (/SOLINK_MODULE\(target\).*better_sqlite3\.node/.test(line)) console.log('  … linking');
  };
  const r = await npm(['rebuild', 'better-sqlite3', '--foreground-scripts', '--no-audit', '--no-fund'], {
    onLine: step,
    tick: () => compiling && console.log(`  … still compiling (${took(t)})`),
    tickMs: 30_000,
  });
  if (r.code !== 0 || !existsSync(SQLITE_ADDON)) {
    fail('Building better-sqlite3', r.tail, 'Compiling it needs python3, make and a C++ compiler (Debian: apt-get install -y python3 make g++).');
  }
  console.log(`  better-sqlite3 ready (${compiling ? 'compiled from source' : 'prebuilt binary'}, ${took(t)})`);
}

const marker = 'node_modules/.package-lock.json';
if (!existsSync(marker)) {
  const { expected, installed } = packageCount();
  console.log(
    `UIS OMNI first run: installing ${expected} npm packages (about 1–3 minutes), then better-sqlite3 ` +
      '(seconds with a prebuilt binary, 2–3 minutes more when it has to be compiled from source).',
  );
  // scripts afterwards, one by one: the download shows its progress, the compile says what it does
  const r = await npm(['ci', '--ignore-scripts', '--include=dev', '--no-audit', '--no-fund', '--loglevel=error'], {
    tick: () => {
      const n = Math.min(installed(), expected);
      console.log(`  … ${n > 1 ? `${n}/${expected} packages in place` : 'fetching the package list'} (${took()})`);
    },
    tickMs: 10_000,
  });
  if (r.code !== 0) fail('npm ci', r.tail);
  console.log(`  ${expected} packages in place (${took()})`);
  const lock = JSON.parse(readFileSync('package-lock.json', 'utf8'));
  const scripted = new Set(
    Object.entries(lock.packages ?? {})
      .filter(([path, p]) => p.hasInstallScript && path.startsWith('node_modules/'))
      .map(([path]) => path.replace(/^.*node_modules\//, ''))
      .filter((name) => name !== 'better-sqlite3'),
  );
  if (scripted.size) {
    const s = await npm(['rebuild', ...scripted, '--no-audit', '--no-fund', '--silent']);
    if (s.code !== 0) fail(`npm rebuild ${[...scripted].join(' ')}`, s.tail);
  }
  await buildSqlite();
  console.log(`Dependencies installed in ${took()}.`);
} else if (statSync(marker).mtimeMs < statSync('package-lock.json').mtimeMs) {
  console.log('package-lock.json changed since the last install: updating the npm dependencies (usually under a minute)…');
  const r = await npm(['install', '--include=dev', '--no-audit', '--no-fund'], { tick: () => console.log(`  … ${took()}`) });
  if (r.code !== 0) fail('npm install', r.tail);
} else if (!existsSync(SQLITE_ADDON)) {
  console.log('better-sqlite3 is not built yet (an earlier install was interrupted): building it now.');
  await buildSqlite();
}

const forTests = process.env.npm_lifecycle_event === 'pretest';
const chromium = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
if (forTests && !existsSync(chromium)) {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (isRoot && existsSync('/usr/bin/apt-get')) {
    console.log("Installing Debian's chromium for the browser tests (apt-get, about 1–3 minutes)…");
    const r = spawnSync('sh', ['-c', 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null'], { stdio: 'inherit' });
    if (r.status !== 0) process.exit(1);
  } else {
    console.error(`Browser tests need Chromium at ${chromium}: run \`sudo apt-get install -y chromium\` or set CHROMIUM_PATH.`);
    process.exit(1);
  }
}
console.log(forTests ? 'Building the pages, then running the tests…' : 'Building the pages (vite build, 1–2 minutes)…');
