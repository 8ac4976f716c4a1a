import { startBackgroundWork, startServer } from './compose';
import { loadConfigOrExit, stopOnSignals } from './lifecycle';
import { createLogger } from './logging';

/**
 * The production entry: serves real portals only. Built into build/serve.js (`npm run build`,
 * server/tools/build-server.mjs) and started with `node build/serve.js` (`npm run serve`): no
 * tsx, no Vite, and nothing of the sandbox — the emulators are not part of the build. Without the
 * Bitrix24 app's credentials it refuses to start; `npm start` (server/main.ts) is the sandbox.
 */
const config = loadConfigOrExit(process.env);
if (config.sandbox) {
  console.error(
    'The production server needs the Bitrix24 app credentials: set B24_CLIENT_ID, B24_CLIENT_SECRET, ' +
      'APP_SECRET_KEY and APP_URL (docs/deploying.md).\n' +
      'For the sandbox against an emulated portal run `npm start` instead.',
  );
  process.exit(2);
}
const log = createLogger({ level: config.logLevel });
const running = await startServer({
  config,
  log,
  credentials: async () => ({ clientId: config.clientId!, clientSecret: config.clientSecret!, oauthServers: config.oauthServers }),
});
startBackgroundWork(running.deps);
stopOnSignals(running, { config, log });
