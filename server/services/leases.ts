import { randomBytes } from 'node:crypto';
import type { Logger } from '../logging';
import type { LeaseStore } from './lease-ports';

/** A lease this process holds; give it back with `release()` (once per successful `hold`). */
export interface LeaseHold {
  release(): Promise<void>;
  /** Set when a renewal found the lease taken over (this process stalled past its expiry). */
  readonly lost: boolean;
}

/**
 * This process's leases (issue #12). `hold` is re-entrant within the process: the job loops of one
 * process share a portal's 'work' lease (they ran side by side before there was a cluster), so
 * only the first holder asks the database and only the last one to let go releases it — after a
 * short linger (a third of its time to live, at most a second), so a busy portal's back-to-back runs
 * cost no database write and the portal stays with the instance already working for it; while held,
 * it is renewed every third of its time to live.
 */
export interface LeaseKeeper {
  /** This process's owner id (`<instance>/<random>`: random per start). */
  readonly owner: string;
  readonly ttlMs: number;
  /** The lease if this process holds or can take it now, else null (another process holds it). */
  hold(memberId: string, area: string): Promise<LeaseHold | null>;
  /** Another process's hold on the lease — held now, or left to expire (it stalled, or died) — else null. */
  otherHolder(memberId: string, area: string): Promise<{ owner: string; expired: boolean } | null>;
  /**
   * At start-up: the leases an earlier start of this instance held when it died are dropped at
   * once (no other live process can listen on this instance's address), so a lone instance
   * restarted after a kill does not wait for them to expire.
   */
  dropEarlier(): Promise<number>;
}

/** `instance`: where this process listens (host name and port), unique among live processes. */
export function newLeaseOwner(instance: string): string {
  return `${instance}/${randomBytes(8).toString('hex')}`;
}

interface Held {
  count: number;
  lost: boolean;
  timer: ReturnType<typeof setInterval> | null;
  /** set while nobody holds it and it lingers before its release */
  linger: ReturnType<typeof setTimeout> | null;
}

export function createLeaseKeeper(o: { store: LeaseStore; log: Logger; ttlMs: number; instance: string; owner?: string; lingerMs?: number }): LeaseKeeper {
  const owner = o.owner ?? newLeaseOwner(o.instance);
  const held = new Map<string, Held>();
  /** acquisitions in progress, so concurrent holders in this process ask the database once */
  const acquiring = new Map<string, Promise<boolean>>();
  const key = (memberId: string, area: string) => `${area}\u0000${memberId}`;
  const lingerMs = o.lingerMs ?? Math.min(1000, Math.floor(o.ttlMs / 3));

  const drop = async (k: string, h: Held, memberId: string, area: string) => {
    h.linger = null;
    if (h.count > 0) return;
    held.delete(k);
    if (h.timer) clearInterval(h.timer);
    if (!h.lost) await o.store.release(memberId, area, owner);
  };

  const handle = (k: string, h: Held, memberId: string, area: string): LeaseHold => {
    let released = false;
    return {
      get lost() {
        return h.lost;
      },
      async release() {
        if (released) return;
        released = true;
        if (--h.count > 0) return;
        if (h.lost || lingerMs <= 0) return drop(k, h, memberId, area);
        h.linger = setTimeout(() => void drop(k, h, memberId, area).catch((e: unknown) => o.log.warn({ err: e, memberId, area }, 'lease release failed')), lingerMs);
        h.linger.unref?.();
      },
    };
  };

  const hold = async (memberId: string, area: string): Promise<LeaseHold | null> => {
    const k = key(memberId, area);
    for (;;) {
      const h = held.get(k);
      if (h && !h.lost) {
        h.count++;
        if (h.linger) clearTimeout(h.linger);
        h.linger = null;
        return handle(k, h, memberId, area);
      }
      const pending = acquiring.get(k);
      if (pending) {
        if (!(await pending)) return null;
        continue; // now held: join it
      }
      const attempt = o.store.acquire(memberId, area, owner, o.ttlMs);
      acquiring.set(k, attempt);
      let ok: boolean;
      try {
        ok = await attempt;
      } finally {
        acquiring.delete(k);
      }
      if (!ok) return null;
      const fresh: Held = { count: 1, lost: false, timer: null, linger: null };
      fresh.timer = setInterval(() => {
        void o.store
          .renew(memberId, area, owner, o.ttlMs)
          .then((still) => {
            if (still || fresh.lost) return;
            fresh.lost = true;
            if (held.get(k) === fresh) held.delete(k);
            if (fresh.timer) clearInterval(fresh.timer);
            o.log.error({ memberId, area }, 'lease lost: this process stalled past its expiry and another instance took the portal over');
          })
          .catch((e: unknown) => o.log.warn({ err: e, memberId, area }, 'lease renewal failed'));
      }, Math.max(10, Math.floor(o.ttlMs / 3)));
      fresh.timer.unref?.();
      held.set(k, fresh);
      return handle(k, fresh, memberId, area);
    }
  };

  const otherHolder = async (memberId: string, area: string) => {
    const h = await o.store.holder(memberId, area);
    return h && h.owner !== owner ? h : null;
  };

  return { owner, ttlMs: o.ttlMs, hold, otherHolder, dropEarlier: () => o.store.dropEarlier(o.instance, owner) };
}
