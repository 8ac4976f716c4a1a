import { describe, expect, it } from 'vitest';
import { UisApiError } from '../../server/uis/errors';
import type { DataApiClient, DataApiLimits } from '../../server/uis/data-api';
import { createDataApiBudget, DataApiBudgetLow } from '../../server/uis/data-api-budget';

/** A Data API account with a minute budget (Data API «Лимиты»: metadata.limits, −32029 limit_exceeded). */
function account(minute: number, day = 10_000) {
  let t = 0;
  let usedMinute = 0;
  let usedDay = 0;
  let windowEnds = 60_000;
  const calls: string[] = [];
  const clock = { now: () => t, sleep: async (ms: number) => void (t += ms) };
  const api: DataApiClient = {
    async call<T>(method: string) {
      if (t >= windowEnds) {
        usedMinute = 0;
        windowEnds = t + 60_000;
      }
      calls.push(method);
      if (usedMinute >= minute || usedDay >= day) throw new UisApiError('limit_exceeded', 'Limit exceeded', 200, 'data-api');
      usedMinute++;
      usedDay++;
      const limits: DataApiLimits = {
        minute_limit: minute,
        minute_remaining: minute - usedMinute,
        minute_reset: Math.ceil((windowEnds - t) / 1000),
        day_limit: day,
        day_remaining: day - usedDay,
        day_reset: 3600,
      };
      return { data: [] as T, limits };
    },
  };
  return { api, clock, calls, advance: (ms: number) => void (t += ms), spend: (n: number) => void (usedMinute += n) };
}

describe('Data API budget guard', () => {
  it('stops below the reserve without calling, and goes on once the window has reset', async () => {
    const a = account(10);
    const budget = createDataApiBudget({ clock: a.clock });
    for (let i = 0; i < 7; i++) await budget.call('m', a.api, 'get.x');
    // 3 left; the reserve is 20 % of 10 = 2: one more, then it stops
    await budget.call('m', a.api, 'get.x');
    await expect(budget.call('m', a.api, 'get.x')).rejects.toBeInstanceOf(DataApiBudgetLow);
    expect(a.calls).toHaveLength(8);
    a.advance(60_000);
    await budget.call('m', a.api, 'get.x');
    expect(a.calls).toHaveLength(9);
  });

  it('the day budget has its own reserve (10 %)', async () => {
    const a = account(1000, 20);
    const budget = createDataApiBudget({ clock: a.clock });
    for (let i = 0; i < 18; i++) await budget.call('m', a.api, 'get.x');
    await expect(budget.call('m', a.api, 'get.x')).rejects.toMatchObject({ window: 'day' });
    expect(a.calls).toHaveLength(18);
  });

  it('limit_exceeded (spent by someone else) waits a minute; keys are separate accounts', async () => {
    const a = account(5);
    a.spend(5);
    const budget = createDataApiBudget({ clock: a.clock });
    await expect(budget.call('m', a.api, 'get.x')).rejects.toBeInstanceOf(DataApiBudgetLow);
    await expect(budget.call('m', a.api, 'get.x')).rejects.toBeInstanceOf(DataApiBudgetLow);
    expect(a.calls).toHaveLength(1);
    const other = account(5);
    await budget.call('other', other.api, 'get.x');
    a.advance(60_000);
    await budget.call('m', a.api, 'get.x');
    expect(a.calls).toHaveLength(2);
  });

  it('other errors pass through untouched', async () => {
    const budget = createDataApiBudget({ clock: { now: () => 0, sleep: async () => undefined } });
    const api: DataApiClient = { call: () => Promise.reject(new UisApiError('access_token_invalid', 'bad key', 200, 'data-api')) };
    await expect(budget.call('m', api, 'get.x')).rejects.toMatchObject({ code: 'access_token_invalid' });
  });
});
