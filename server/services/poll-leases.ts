import type { Logger } from '../logging';
import type { RunLease } from './job-loop';

/**
 * Periodic passes over the portals on a cluster (issue #12, «Several instances, one truth»): a
 * portal's pass of an area (the employee sync tick, the telephony reconcile, the bridge's reconcile
 * and loss audit, the amoCRM keep-alive) is done by one instance. The first instance to take the
 * area's lease for a portal keeps it from round to round (the keeper renews it), the others skip
 * that portal until it expires (its holder died) — so N instances pass as often as one, as the job
 * loop's `everyPortal` does. Without a lease (one process) every portal is this process's.
 */
export interface PollLeases {
  /** Whether this process does the portal's pass: it holds the area's lease, or took it now. */
  mine(memberId: string): Promise<boolean>;
  /** Lets go of the portals not in `list` (no longer due a pass: another instance may take them later). */
  keepOnly(list: readonly string[]): Promise<void>;
  /** Lets go of every portal (the loop stops). */
  releaseAll(): Promise<void>;
}

type Hold = { release(): Promise<void>; readonly lost?: boolean };

export function createPollLeases(lease: RunLease | undefined, area: string, log: Logger): PollLeases {
  const held = new Map<string, Hold>();
  const letGo = (memberId: string, h: Hold) => h.release().catch((e: unknown) => log.warn({ err: e, memberId, area }, 'poll lease release failed'));
  return {
    async mine(memberId) {
      if (!lease) return true;
      const had = held.get(memberId);
      if (had && !had.lost) return true;
      const h = await lease.hold(memberId, area);
      if (h) held.set(memberId, h);
      else held.delete(memberId);
      return !!h;
    },
    async keepOnly(list) {
      for (const [memberId, h] of [...held]) {
        if (list.includes(memberId)) continue;
        held.delete(memberId);
        await letGo(memberId, h);
      }
    },
    async releaseAll() {
      const all = [...held];
      held.clear();
      for (const [memberId, h] of all) await letGo(memberId, h);
    },
  };
}

/**
 * `work` under the portal's lease of `area`, waiting (a second at a time, on `sleep`) while another
 * instance holds it — one run of the area per portal across the cluster at a time, as one process
 * serialises its own. Without a lease, `work` runs at once.
 */
export async function underLease<T>(lease: RunLease | undefined, memberId: string, area: string, sleep: (ms: number) => Promise<void>, work: () => Promise<T>, log: Logger): Promise<T> {
  if (!lease) return work();
  let h = await lease.hold(memberId, area);
  while (!h) {
    await sleep(1000);
    h = await lease.hold(memberId, area);
  }
  try {
    return await work();
  } finally {
    await h.release().catch((e: unknown) => log.warn({ err: e, memberId, area }, 'lease release failed'));
  }
}
