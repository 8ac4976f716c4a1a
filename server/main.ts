import { randomBytes } from 'node:crypto';
import { PROJECT_ROOT, startBackgroundWork, startServer, type Credentials, type StartOptions } from './compose';
import { loadConfigOrExit, stopOnSignals } from './lifecycle';
import { createLogger } from './logging';

/**
 * Entry point of `npm start` / `npm run dev` (run by tsx). With B24_CLIENT_ID set it serves real
 * portals; without it (sandbox mode) it also starts the emulated Bitrix24 portal on loopback and
 * prints the URL to open as its admin. Production runs the build of server/serve.ts instead.
 */
async function main(): Promise<void> {
  const config = loadConfigOrExit(process.env);
  const log = createLogger({ level: config.logLevel });
  const devMode = process.argv.includes('--dev');
  const closers: Array<() => Promise<void>> = [];

  const options: StartOptions = {
    config,
    log,
    credentials: async (appUrl): Promise<Credentials> => {
      if (!config.sandbox) return { clientId: config.clientId!, clientSecret: config.clientSecret!, oauthServers: config.oauthServers };
      const { startBitrixEmulator } = await import('../test/emulator/bitrix/index');
      const { startUisEmulator } = await import('../test/emulator/uis/index');
      const { startAmoEmulator } = await import('../test/emulator/amocrm/index');
      const clientId = `local.${randomBytes(6).toString('hex')}`;
      const clientSecret = randomBytes(24).toString('hex');
      const emu = await startBitrixEmulator({ app: { clientId, clientSecret, appUrl } });
      const uis = await startUisEmulator();
      const amo = await startAmoEmulator({ integration: { redirectUri: `${appUrl}/oauth/amocrm/callback` } });
      closers.push(() => emu.close(), () => uis.close(), () => amo.close());
      const portal = emu.portals[0]!;
      const acc = uis.accounts[0]!;
      // «UIS Чаты» acts as the UIS employee with the Bitrix24 user's e-mail: make the emulated
      // portal's admin and employee operators of the emulated UIS account.
      for (const [id, email, first, last] of [[700_001, 'admin@portal.example', 'Анна', 'Админова'], [700_002, 'ivan@portal.example', 'Иван', 'Сотрудников']] as const) {
        acc.employees.push({ id, email, first_name: first, last_name: last, full_name: `${last} ${first}`, login: email.split('@')[0]!, operator_chat_enabled: true, status: 'available' });
      }
      process.stdout.write(
        `\nUIS OMNI sandbox: the app runs at ${appUrl} against an emulated Bitrix24 portal.\n` +
          `Open the portal as its administrator and install the app:\n\n    ${portal.origin}/?user=1\n\n` +
          `(user=2 is a plain employee). The emulated UIS platform is at ${uis.origin}:\n` +
          `  link it on the app's main page with login ${acc.login}, password ${acc.password}, Data API key ${acc.dataApiToken};\n` +
          `  write as a client: ${uis.origin}/visitor?account=${acc.appId}   operator workspace: ${uis.workspaceUrl}\n` +
          `  call as a client or answer as an employee (emulated PBX): ${uis.origin}/pbx?account=${acc.appId}\n` +
          `An emulated amoCRM is at ${amo.origin}: connect it in «Источники чатов» with the address ${amo.host};\n` +
          `  a site with its multi-widget: ${amo.origin}/site?script=${encodeURIComponent(`${amo.origin}/button/embed.js`)}\n\n` +
          `Stop with Ctrl+C.\n\n`,
      );
      return {
        clientId,
        clientSecret,
        oauthServers: [emu.oauthOrigin],
        uis: { authUrl: uis.authUrl, managementUrl: uis.managementUrl, runtimeUrl: uis.runtimeUrl, dataApiUrl: uis.dataApiUrl, callApiUrl: uis.callApiUrl, workspaceUrl: uis.workspaceUrl },
        amocrm: { clientId: amo.integration.clientId, clientSecret: amo.integration.clientSecret, trustedHosts: [amo.origin] },
      };
    },
  };

  if (devMode) {
    const { createServer } = await import('vite');
    const { createViteRenderer } = await import('./http/page-renderer');
    const vite = await createServer({ root: PROJECT_ROOT, server: { middlewareMode: true }, appType: 'custom' });
    closers.push(() => vite.close());
    options.renderer = createViteRenderer(vite, PROJECT_ROOT);
    options.dev = { middlewares: vite.middlewares };
  }

  const running = await startServer(options);
  startBackgroundWork(running.deps);
  stopOnSignals(running, { config, log, closers });
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
