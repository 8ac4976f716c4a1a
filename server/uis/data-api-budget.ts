import type { DataApiClient, DataApiLimits } from './data-api';
import type { Clock } from '../domain/clock';

/**
 * A share of an account's Data API point budget for background work (docs/facts/uis.md#data-api «Limits»: a day
 * and a minute budget, each successful call costs its weight, the remaining budget comes back in
 * `metadata.limits`, an exhausted budget answers −32029 `limit_exceeded`). The budget is the
 * account's, shared with everything else that uses its key (our CRM rules, analytics, the client's
 * own scripts), so background work stops while less than a reserve is left — it must never be the
 * one that makes an operator-facing call fail — and resumes once the window has reset.
 */
export class DataApiBudgetLow extends Error {
  override name = 'DataApiBudgetLow';
  readonly code = 'DATA_API_BUDGET_LOW';
  constructor(
    readonly window: 'minute' | 'day',
    /** ms on the clock when it is worth asking again */
    readonly retryAt: number,
  ) {
    super(`the UIS Data API ${window} point budget is (nearly) spent; resumes after it resets`);
  }
}

interface Seen {
  minuteRemaining: number | null;
  minuteLimit: number | null;
  minuteResetAt: number;
  dayRemaining: number | null;
  dayLimit: number | null;
  dayResetAt: number;
}

export interface DataApiBudget {
  /** `api.call` unless the account's budget is below the reserve (then DataApiBudgetLow, no call made). */
  call<T = unknown>(key: string, api: DataApiClient, method: string, params?: Record<string, unknown>): Promise<{ data: T; limits: DataApiLimits | null }>;
}

export function createDataApiBudget(o: {
  clock: Clock;
  /** share of each window left alone (default: 20 % of the minute, 10 % of the day budget) */
  minuteReserve?: number;
  dayReserve?: number;
}): DataApiBudget {
  const minuteShare = o.minuteReserve ?? 0.2;
  const dayShare = o.dayReserve ?? 0.1;
  const seen = new Map<string, Seen>();
  const reserve = (limit: number | null, share: number) => (limit === null ? 1 : Math.max(1, Math.ceil(limit * share)));

  const remember = (key: string, l: DataApiLimits | null) => {
    if (!l) return;
    const now = o.clock.now();
    const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
    seen.set(key, {
      minuteRemaining: num(l.minute_remaining),
      minuteLimit: num(l.minute_limit),
      minuteResetAt: now + (num(l.minute_reset) ?? 60) * 1000,
      dayRemaining: num(l.day_remaining),
      dayLimit: num(l.day_limit),
      dayResetAt: now + (num(l.day_reset) ?? 3600) * 1000,
    });
  };

  return {
    async call<T>(key: string, api: DataApiClient, method: string, params: Record<string, unknown> = {}) {
      const s = seen.get(key);
      const now = o.clock.now();
      if (s) {
        if (s.dayRemaining !== null && now < s.dayResetAt && s.dayRemaining <= reserve(s.dayLimit, dayShare)) throw new DataApiBudgetLow('day', s.dayResetAt);
        if (s.minuteRemaining !== null && now < s.minuteResetAt && s.minuteRemaining <= reserve(s.minuteLimit, minuteShare)) throw new DataApiBudgetLow('minute', s.minuteResetAt);
      }
      try {
        const r = await api.call<T>(method, params);
        remember(key, r.limits);
        return r;
      } catch (e) {
        if ((e as { code?: string }).code === 'limit_exceeded') {
          // spent (by us or anyone else with the key): the answer does not say which window, wait a minute
          seen.set(key, { minuteRemaining: 0, minuteLimit: s?.minuteLimit ?? null, minuteResetAt: now + 60_000, dayRemaining: s?.dayRemaining ?? null, dayLimit: s?.dayLimit ?? null, dayResetAt: s?.dayResetAt ?? 0 });
          throw new DataApiBudgetLow('minute', now + 60_000);
        }
        throw e;
      }
    },
  };
}

/** `api` with every call through the budget — for paged readers such as `dataApiAll`. */
export function budgetedClient(budget: DataApiBudget, key: string, api: DataApiClient): DataApiClient {
  return { call: <T>(method: string, params?: Record<string, unknown>) => budget.call<T>(key, api, method, params) };
}
