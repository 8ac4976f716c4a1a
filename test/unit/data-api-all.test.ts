import { describe, expect, it } from 'vitest';
import { dataApiAll, type DataApiClient } from '../../server/uis/data-api';

describe('dataApiAll (Data API «Постраничный вывод»)', () => {
  it('reads page after page with limit/offset until a short page, keeping the caller\'s params', async () => {
    const rows = Array.from({ length: 2500 }, (_, i) => ({ id: i }));
    const calls: Array<Record<string, unknown>> = [];
    const api: DataApiClient = {
      async call<T>(method: string, params: Record<string, unknown> = {}) {
        calls.push({ method, ...params });
        const offset = Number(params.offset);
        return { data: rows.slice(offset, offset + Number(params.limit)) as T, limits: null };
      },
    };
    const all = await dataApiAll(api, 'get.offline_messages_report', { fields: ['id'] }, 1000);
    expect(all).toEqual(rows);
    expect(calls).toEqual([0, 1000, 2000].map((offset) => ({ method: 'get.offline_messages_report', fields: ['id'], limit: 1000, offset })));
  });

  it('an exact multiple of the page size ends with one empty page', async () => {
    let calls = 0;
    const api: DataApiClient = {
      async call<T>(_m: string, params: Record<string, unknown> = {}) {
        calls++;
        return { data: (Number(params.offset) < 4 ? [{}, {}] : []) as T, limits: null };
      },
    };
    await expect(dataApiAll(api, 'get.employees', {}, 2)).resolves.toHaveLength(4);
    expect(calls).toBe(3);
  });
});
