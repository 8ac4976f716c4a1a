/* global process */
// `node --import ./test/support/record-modules.mjs app.js`: every module URL the app's ESM imports
// resolve to is appended to $OMNI_MODULE_LOG (test/http/production-build.test.ts reads the graph).
import { register } from 'node:module';

register('./record-modules-hooks.mjs', import.meta.url, { data: { file: process.env.OMNI_MODULE_LOG } });
