/**
 * The one retry/back-off policy of the app. The wait before the next attempt grows geometrically:
 * `baseMs × factor^n`, where n counts the attempts already failed (the caller says from where);
 * `maxExponent` stops the growth early, `capMs` bounds the wait, and `jitter` spreads it by ±that
 * fraction so many clients that failed together do not come back in step. Each caller keeps its
 * own limits (below, or named where it is used):
 *
 * | who | base | factor | cap | jitter |
 * | --- | --- | --- | --- | --- |
 * | Bitrix24 REST client, within one call (503, 5xx, network) | 1 s | 1.5 | — | ±10 % |
 * | durable jobs: analytics, open-line fields, CRM rules, chat sources | 5 s | 2 | 30 min | — |
 * | telephony calls (CRM writes) / recordings not ready / a call the report lacks | 2 s / 10 s / 5 s | 2 / 2 / 3 | 30 min / 30 min / — | — |
 * | bridge jobs / an inbound message waiting for its `/chat` callback | 1 s (exponent ≤ 10) / 0.5 s | 2 | 10 min / 30 s | — |
 * | amoCRM API blocked (403) | 5 s | 2 | 1 min | — |
 */
export interface BackoffPolicy {
  baseMs: number;
  /** growth per failed attempt; default 2 */
  factor?: number;
  /** the longest wait; default none */
  capMs?: number;
  /** the exponent stops growing here; default none */
  maxExponent?: number;
  /** ± this fraction of the wait, at random; default 0 */
  jitter?: number;
}

/** The wait after `n` failed attempts (n ≥ 0) under `policy`. */
export function backoffDelay(policy: BackoffPolicy, n: number, random: () => number = Math.random): number {
  const exponent = policy.maxExponent === undefined ? n : Math.min(n, policy.maxExponent);
  let wait = policy.baseMs * (policy.factor ?? 2) ** exponent;
  if (policy.jitter) wait *= 1 - policy.jitter + random() * 2 * policy.jitter;
  return policy.capMs === undefined ? wait : Math.min(policy.capMs, wait);
}

/** Durable job queues (analytics, open-line fields, CRM rules, chat sources): 5 s, doubling, at most 30 minutes. */
export const JOB_RETRY: BackoffPolicy = { baseMs: 5_000, factor: 2, capMs: 30 * 60_000 };
