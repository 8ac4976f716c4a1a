import type { Logger } from '../logging';

/**
 * Work that runs after the HTTP answer (ack first — style.md rule 2). Tracked, so that shutdown
 * and tests can wait for it, and so that a failure is logged instead of becoming an unhandled rejection.
 */
export interface Background {
  /** Start `work` now; the promise settles when it is done (never rejects: a failure is logged). */
  run(name: string, work: () => Promise<unknown>): Promise<void>;
  /** Resolves when nothing is running. */
  idle(): Promise<void>;
}

export function createBackground(log: Logger): Background {
  const pending = new Set<Promise<unknown>>();
  return {
    run(name, work) {
      const p: Promise<void> = Promise.resolve()
        .then(work)
        .then(
          () => undefined,
          (e: unknown) => void log.error({ err: e, task: name }, 'background task failed'),
        )
        .finally(() => pending.delete(p));
      pending.add(p);
      return p;
    },
    async idle() {
      while (pending.size) await Promise.allSettled([...pending]);
    },
  };
}
