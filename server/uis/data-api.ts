import { UisApiError } from './errors';
import { uisJson } from './http';

/**
 * UIS Data API: JSON-RPC 2.0 over POST, `access_token` in params, no batches or notifications;
 * errors are branched on `error.data.mnemonic` (docs/facts/uis.md#data-api).
 */
export interface DataApiLimits {
  day_limit?: number;
  day_remaining?: number;
  /** seconds until the day budget is restored */
  day_reset?: number;
  minute_limit?: number;
  minute_remaining?: number;
  /** seconds until the minute budget is restored */
  minute_reset?: number;
}

export interface DataApiClient {
  call<T = unknown>(method: string, params?: Record<string, unknown>): Promise<{ data: T; limits: DataApiLimits | null }>;
}

let nextId = 1;

export function createDataApiClient(o: { url: string; token: string; fetch?: typeof fetch }): DataApiClient {
  return {
    async call<T>(method: string, params: Record<string, unknown> = {}) {
      const r = await uisJson<{ result?: { data?: T; metadata?: { limits?: DataApiLimits } }; error?: { code: number; message: string; data?: { mnemonic?: string; field?: string } } }>(
        'data-api',
        o.url,
        { body: { jsonrpc: '2.0', id: nextId++, method, params: { access_token: o.token, ...params } }, fetch: o.fetch },
      );
      if (r?.error) throw new UisApiError(r.error.data?.mnemonic ?? `rpc_${r.error.code}`, r.error.message, 200, 'data-api', r.error.data?.field);
      if (!r?.result) throw new UisApiError('bad_response', 'no result', 200, 'data-api');
      return { data: r.result.data as T, limits: r.result.metadata?.limits ?? null };
    },
  };
}

/** The Data API client of a linked account: its project's endpoint and its key. */
export function dataApiForLink(
  link: { project: 'uis' | 'comagic'; dataApiToken: string },
  uisEndpoints: (project: 'uis' | 'comagic') => { dataApiUrl: string },
  fetchImpl?: typeof fetch,
): DataApiClient {
  return createDataApiClient({ url: uisEndpoints(link.project).dataApiUrl, token: link.dataApiToken, fetch: fetchImpl });
}

/**
 * Every row of a Data API `get.*` method, page by page (`limit`/`offset`, Data API «Постраничный
 * вывод»): a page shorter than `pageSize` is the last.
 */
export async function dataApiAll<T = Record<string, unknown>>(api: DataApiClient, method: string, params: Record<string, unknown>, pageSize = 1000): Promise<T[]> {
  const out: T[] = [];
  for (let offset = 0; ; offset += pageSize) {
    const r = await api.call<T[]>(method, { ...params, limit: pageSize, offset });
    const rows = Array.isArray(r.data) ? r.data : [];
    out.push(...rows);
    if (rows.length < pageSize) return out;
  }
}
