// Lint: TypeScript + Vue rules, plus the import boundaries of shared/reference/style.md §2
// (enforced with no-restricted-imports per folder).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import vue from 'eslint-plugin-vue';
import vueParser from 'vue-eslint-parser';

const forbid = (group, message) => ({ 'no-restricted-imports': ['error', { patterns: [{ group, message }] }] });

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
  { files: ['install/**/*.ts'], rules: forbid(['../server/*', '../app/*', '../placements/*', '../test/*'], 'install/ imports nothing outside install/ (style.md §2)') },
  { files: ['server/contracts/**/*.ts'], rules: forbid(['../*', '!./*'], 'server/contracts imports zod only (style.md §2)') },
  { files: ['server/domain/**/*.ts'], rules: forbid(['../storage/*', '../http/*', '../bitrix/*', '../services/*', 'express', 'better-sqlite3'], 'domain is pure (style.md §2)') },
  { files: ['server/services/**/*.ts'], rules: forbid(['../storage/*', '../http/*', 'express', 'better-sqlite3'], 'services depend on ports, not on storage or HTTP (style.md §2)') },
  { files: ['server/http/**/*.ts'], rules: forbid(['../storage/*', '../../storage/*'], 'server/http never touches storage (style.md §2)') },
  { files: ['server/bitrix/**/*.ts'], rules: forbid(['../storage/*', '../http/*', 'express'], 'the Bitrix24 adapter knows no storage or HTTP server (style.md §2)') },
  { files: ['app/**/*.ts', 'app/**/*.vue', 'placements/**/*.ts'], rules: forbid(['**/server/*', '!**/server/contracts', '**/test/*'], 'the front end may import server/contracts only (style.md §2)') },
];
