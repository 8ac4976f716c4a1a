/**
 * Import cycles of the product code are refused (issue #11 item 18), type-only imports included:
 * a type cycle ties two modules together as much as a value cycle does, and the three cycles this
 * check was added for (rest-client ⇄ services/ports, http/routes/api ⇄ its routers, bridge
 * worker ⇄ worker-context) were type-only. Runs in `npm run lint` after ESLint (whose import-x
 * no-cycle skips type-only imports). Folder fences are ESLint's (eslint.config.js).
 */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'An import cycle: move the shared declaration to the module both sides may import (see the commits of issue #11 item 18)',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    tsPreCompilationDeps: true,
    doNotFollow: { path: 'node_modules' },
    // the emulators (which the sandbox imports) are test code, not product
    exclude: { path: '(^|/)(node_modules|dist|build|data)/|^test/|\\.d\\.ts$' },
    enhancedResolveOptions: { extensions: ['.ts', '.vue', '.js', '.mjs', '.json'] },
  },
};
