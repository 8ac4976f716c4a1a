/**
 * Leases (issue #12, «Several instances, one truth»): a portal's work in an area ('work': the job
 * loops' runs and polls; 'oauth': its token refresh) is owned by one process of the cluster at a
 * time. The expiry lives in the database and is checked there, so a process that dies holding a
 * lease loses it once it expires. `owner` fences: only the process that holds a lease renews or
 * releases it (a random id per process start, after the instance's address: `<host:port>/<random>`).
 */
export interface LeaseStore {
  /** Take the lease if it is free, expired or already this owner's (then extended); true when held. */
  acquire(memberId: string, area: string, owner: string, ttlMs: number): Promise<boolean>;
  /** Extend a lease this owner holds; false when it was lost (expired and taken over). */
  renew(memberId: string, area: string, owner: string, ttlMs: number): Promise<boolean>;
  /** Who holds the lease, or held it and let it expire (`expired`; a lease given up is gone): null when nobody. */
  holder(memberId: string, area: string): Promise<{ owner: string; expired: boolean } | null>;
  /** Give it up (only if this owner still holds it). */
  release(memberId: string, area: string, owner: string): Promise<void>;
  /**
   * Drop the leases of earlier starts of this instance (owner `<instance>/…`, not `owner`): they
   * are dead, as this start listens on their address. Returns how many.
   */
  dropEarlier(instance: string, owner: string): Promise<number>;
}
