/**
 * The app as a child process, for tests that kill it (bridge-restart.test.ts). Like server/main.ts
 * but the credentials and UIS endpoints come from OMNI_TEST_CREDENTIALS (JSON, see
 * server-process.ts), pages render only the boot block, and the bridge's offline polling interval
 * is OMNI_TEST_OFFLINE_POLL_MS; the background work and SIGTERM handling are otherwise the same
 * (startBackgroundWork, stopOnSignals).
 * Prints `OMNI READY <url>` once listening.
 */
import { startBackgroundWork, startServer, type Credentials } from '../../server/compose';
import { loadConfig } from '../../server/config';
import { bootScript, type PageRenderer } from '../../server/http/page-renderer';
import { stopOnSignals } from '../../server/lifecycle';
import { createLogger } from '../../server/logging';

const renderer: PageRenderer = {
  async render(_page, boot) {
    return `<!doctype html><html><head>${bootScript(boot)}</head><body></body></html>`;
  },
};

async function main(): Promise<void> {
  const raw = process.env.OMNI_TEST_CREDENTIALS;
  if (!raw) throw new Error('OMNI_TEST_CREDENTIALS is not set');
  const creds = JSON.parse(raw) as Credentials;
  const config = loadConfig(process.env);
  const pollMs = Number(process.env.OMNI_TEST_OFFLINE_POLL_MS ?? 500);
  const log = createLogger({ level: config.logLevel });
  const running = await startServer({ config, log, renderer, credentials: async () => creds });
  startBackgroundWork(running.deps, { bridgeOfflinePollMs: pollMs });
  process.stdout.write(`OMNI READY ${running.url}\n`);
  stopOnSignals(running, { config, log });
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
