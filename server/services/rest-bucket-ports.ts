/**
 * The portals' REST buckets shared by the instances of a cluster (issue #12): the client-side mirror
 * of Bitrix24's per-portal leaky bucket (bitrix/limiter.ts), kept in the database so every instance
 * paces a portal against the same level. Each operation is one atomic statement.
 */
export interface RestBucketStore {
  /**
   * One more request in the portal's bucket: the level drained by `msPerRequest` per request since
   * its last update, plus one; returns the level after it (this request included).
   */
  take(memberId: string, msPerRequest: number): Promise<number>;
  /** The portal answered QUERY_LIMIT_EXCEEDED: the level is at least `capacity` now; returns it. */
  fill(memberId: string, capacity: number, msPerRequest: number): Promise<number>;
}
