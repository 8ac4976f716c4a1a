#!/usr/bin/env node
// Runs before `npm start` and `npm test` (npm pre-scripts) so that the README's two commands work
// on a fresh machine: installs the npm dependencies when they are missing or older than the lock
// file, and — for tests — Debian's Chromium when it is missing. Plain Node, no dependencies.
import { execSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';

const run = (cmd) => execSync(cmd, { stdio: 'inherit' });
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 19)) {
  console.error(`UIS OMNI needs Node.js 20.19 or newer (this is ${process.versions.node}).`);
  process.exit(1);
}

const marker = 'node_modules/.package-lock.json';
if (!existsSync(marker) || statSync(marker).mtimeMs < statSync('package-lock.json').mtimeMs) {
  // not `npm ci`: the lock omits other platforms' optional binaries the registry here does not serve
  console.log('Installing npm dependencies…');
  run('npm install --no-audit --no-fund');
}

const forTests = process.env.npm_lifecycle_event === 'pretest';
const chromium = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
if (forTests && !existsSync(chromium)) {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (isRoot && existsSync('/usr/bin/apt-get')) {
    console.log('Installing Debian chromium for the browser tests…');
    run('apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null');
  } else {
    console.error(`Browser tests need Chromium at ${chromium}: run \`sudo apt-get install -y chromium\` or set CHROMIUM_PATH.`);
    process.exit(1);
  }
}
