import { ConfigError, loadConfig, type Config } from './config';
import type { RunningServer } from './compose';
import type { Logger } from './logging';

/**
 * How an instance starts and stops, shared by the production entry (server/serve.ts) and the
 * sandbox (server/main.ts).
 */

/** The validated configuration, or exit 2 with the message naming what to fix. */
export function loadConfigOrExit(env: Record<string, string | undefined>): Config {
  try {
    return loadConfig(env);
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(e.message);
      process.exit(2);
    }
    throw e;
  }
}

/**
 * SIGTERM / SIGINT: a graceful stop, then exit 0.
 * 1. draining: `/readyz` answers 503 and every answer closes its connection, while the instance
 *    still serves for `config.shutdown.delayMs` (the time a balancer needs to see it unready);
 * 2. no new work: the listener is closed, the job loops start no new run, the pollers stop;
 * 3. what is in flight (requests, job runs, background tasks) finishes, for at most
 *    `config.shutdown.timeoutMs`; past that the instance exits anyway and the next start resumes
 *    what was cut (jobs are durable, calls whose outcome is unknown are marked in flight);
 * 4. `closers` (the sandbox's emulators) are closed.
 * A second signal exits at once (1).
 */
export function stopOnSignals(running: RunningServer, o: { config: Config; log: Logger; closers?: Array<() => Promise<void>> }): void {
  const { delayMs, timeoutMs } = o.config.shutdown;
  let stopping = false;
  const stop = async (signal: NodeJS.Signals): Promise<void> => {
    if (stopping) {
      o.log.warn({ signal }, 'second signal during shutdown: exiting now');
      process.exit(1);
    }
    stopping = true;
    running.beginDraining();
    o.log.info({ signal, delayMs, timeoutMs }, 'shutting down: unready, finishing the work in flight');
    if (delayMs > 0) await new Promise((ok) => setTimeout(ok, delayMs));
    const drained = await running.shutdown(timeoutMs);
    if (drained) o.log.info('shutdown complete');
    else o.log.warn({ timeoutMs }, 'shutdown timeout: the work still in flight resumes at the next start');
    for (const close of o.closers ?? []) {
      await close().catch((e: unknown) => o.log.warn({ err: e }, 'closing failed'));
    }
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}
