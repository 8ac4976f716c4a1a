import type { Logger } from '../logging';

/**
 * Work that runs after the HTTP answer (ack first — style.md rule 2). Tracked, so that shutdown
 * and tests can wait for it, and so that a failure is logged instead of becoming an unhandled rejection.
 */
export interface Background {
  run(name: string, work: () => Promise<unknown>): void;
  /** Resolves when nothing is running. */
  idle(): Promise<void>;
}

export function createBackground(log: Logger): Background {
  const pending = new Set<Promise<unknown>>();
  return {
    run(name, work) {
      const p = Promise.resolve()
        .then(work)
        .catch((e: unknown) => log.error({ err: e, task: name }, 'background task failed'))
        .finally(() => pending.delete(p));
      pending.add(p);
    },
    async idle() {
      while (pending.size) await Promise.allSettled([...pending]);
    },
  };
}
