// Lint: TypeScript + Vue rules, plus the import fences of shared/reference/style.md §2 as the code
// has them (README, «Where the code departs from style.md»). Folder fences are checked on the file an
// import resolves to (import-x/no-restricted-paths), so they hold at any depth; packages by name
// (no-restricted-imports). test/unit/import-fences.test.ts lints probe files against both.
// Import cycles (type-only imports included) are dependency-cruiser's check: .dependency-cruiser.cjs.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import vue from 'eslint-plugin-vue';
import vueParser from 'vue-eslint-parser';
import importX, { createNodeResolver } from 'eslint-plugin-import-x';

const ROOT = import.meta.dirname;
/** The composition root and configuration (compose*.ts, …): they import every layer, no layer imports them. */
const COMPOSITION = { from: ['./server/compose*.ts', './server/{config,lifecycle,main,serve}.ts'] };
const OUTSIDE_SERVER = ['./app', './placements', './test'];
const IO_PACKAGES = ['express', 'helmet', 'better-sqlite3', 'pino', 'prom-client', 'node:fs', 'node:fs/promises', 'node:http', 'node:https', 'node:net', 'node:child_process'];

/** Per folder: the folders (resolved) and packages (by name) its files must not import, and why. */
const FENCES = [
  {
    files: ['install/**/*.ts'],
    zones: [{ from: ['./server', ...OUTSIDE_SERVER] }],
    why: 'install/ imports nothing outside install/ (it runs in the page and in the server)',
  },
  {
    files: ['server/contracts/**/*.ts'],
    zones: [{ from: './server', except: ['./contracts'] }, { from: [...OUTSIDE_SERVER, './install'] }],
    packages: { regex: '^(?!zod(/|$))[^./]' },
    why: 'server/contracts imports zod only (the front end imports it)',
  },
  {
    files: ['server/domain/**/*.ts'],
    zones: [{ from: './server', except: ['./domain', './contracts'] }, { from: [...OUTSIDE_SERVER, './install'] }],
    packages: IO_PACKAGES,
    why: 'the domain is pure: it imports the domain and contract types only',
  },
  {
    files: ['server/services/**/*.ts'],
    zones: [{ from: ['./server/storage', './server/http', ...OUTSIDE_SERVER] }, COMPOSITION],
    packages: ['express', 'helmet', 'better-sqlite3'],
    why: 'services use ports and adapters, never storage, HTTP or the composition root',
  },
  {
    files: ['server/http/**/*.ts'],
    zones: [{ from: ['./server/storage', ...OUTSIDE_SERVER] }, COMPOSITION],
    packages: ['better-sqlite3'],
    why: 'server/http never touches storage; it calls services',
  },
  {
    files: ['server/bitrix/**/*.ts'],
    zones: [{ from: ['./server/storage', './server/http', './server/services', './server/uis', ...OUTSIDE_SERVER] }, COMPOSITION],
    packages: ['express', 'helmet', 'better-sqlite3'],
    why: 'the Bitrix24 adapter knows no storage, HTTP server, services or other adapter',
  },
  {
    files: ['server/uis/**/*.ts'],
    zones: [{ from: ['./server/storage', './server/http', './server/services', './server/bitrix', ...OUTSIDE_SERVER] }, COMPOSITION],
    packages: ['express', 'helmet', 'better-sqlite3'],
    why: 'the UIS adapter knows no storage, HTTP server, services or other adapter',
  },
  {
    files: ['server/amocrm/**/*.ts', 'server/jivo/**/*.ts'],
    zones: [{ from: ['./server/storage', './server/http', './server/services', './server/bitrix', './server/uis', ...OUTSIDE_SERVER] }, COMPOSITION],
    packages: ['express', 'helmet', 'better-sqlite3'],
    why: 'the amoCRM and Jivo adapters (chat sources, issue #15) know no storage, HTTP server, services or other adapter',
  },
  {
    files: ['server/storage/**/*.ts'],
    zones: [
      { from: ['./server/http', './server/bitrix', './server/uis', ...OUTSIDE_SERVER] },
      COMPOSITION,
      { from: './server/services/**', except: ['**/services/**/ports.ts', '**/services/**/*-ports.ts', '**/services/async-port.ts'] },
    ],
    packages: ['express', 'helmet'],
    why: 'storage implements the ports: it imports the domain, contracts and the ports files only',
  },
  {
    files: ['app/**/*.ts', 'app/**/*.vue'],
    zones: [{ from: './server', except: ['./contracts'] }, { from: ['./test', './placements'] }],
    packages: IO_PACKAGES,
    why: 'the front end imports server/contracts only from the server',
  },
  {
    files: ['placements/**/*.ts'],
    zones: [{ from: './server', except: ['./contracts'] }, { from: './test' }],
    packages: IO_PACKAGES,
    why: 'a placement entry imports app/ (and, like app/, server/contracts) only',
  },
];

function fence({ files, zones, packages, why }) {
  const message = `${why} (style.md §2, README)`;
  const rules = {
    'import-x/no-restricted-paths': ['error', { basePath: ROOT, zones: zones.map((z) => ({ target: files.map((f) => `./${f}`), ...z, message })) }],
  };
  if (Array.isArray(packages)) rules['no-restricted-imports'] = ['error', { paths: packages.map((name) => ({ name, message })) }];
  else if (packages) rules['no-restricted-imports'] = ['error', { patterns: [{ ...packages, message }] }];
  return { files, rules };
}

export default [
  { ignores: ['dist/**', 'build/**', 'node_modules/**', 'data/**', '*.d.ts', 'test/emulator/bitrix/host-page.client.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...vue.configs['flat/recommended'],
  {
    files: ['**/*.vue'],
    languageOptions: { parser: vueParser, parserOptions: { parser: tseslint.parser, sourceType: 'module' } },
  },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
      'no-console': 'off',
      'vue/multi-word-component-names': 'off',
      // text from clients is never markup on our pages (issue #11 item 9)
      'vue/no-v-html': 'error',
      'vue/max-attributes-per-line': 'off',
      'vue/singleline-html-element-content-newline': 'off',
      'vue/html-self-closing': 'off',
    },
  },
  {
    // our pages: text is never markup (issue #11 item 9); the emulated portal's own screens may build HTML
    files: ['app/**/*.ts', 'app/**/*.vue', 'placements/**/*.ts'],
    rules: { 'no-restricted-properties': ['error', { property: 'innerHTML', message: 'Text is never markup: use textContent or a template' }, { property: 'outerHTML', message: 'Text is never markup' }] },
  },
  { files: ['server/tools/*.mjs'], languageOptions: { globals: { process: 'readonly', console: 'readonly' } } },
  { files: ['**/*.cjs'], languageOptions: { sourceType: 'commonjs', globals: { module: 'writable', require: 'readonly' } } },
  {
    files: ['**/*.ts', '**/*.vue', '**/*.js', '**/*.mjs'],
    plugins: { 'import-x': importX },
    settings: { 'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.vue', '.js', '.mjs', '.json'] })] },
  },
  ...FENCES.map(fence),
];
