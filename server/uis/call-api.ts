import { UisApiError } from './errors';
import { uisJson } from './http';

/**
 * UIS Call API v4.0 (comagic.github.io call_api/index.html): JSON-RPC 2.0 over POST, the account's
 * key as `access_token` in params, no batches; errors branched on `error.data.mnemonic` like the
 * Data API (docs/facts/telephony.md#call-api). Only what click-to-call and the callback form start.
 */
export interface CallApiClient {
  /** `start.employee_call` / `start.simple_call` → the new `call_session_id`. */
  start(method: 'start.employee_call' | 'start.simple_call', params: Record<string, unknown>): Promise<number>;
}

let nextId = 1;

export function createCallApiClient(o: { url: string; token: string; fetch?: typeof fetch }): CallApiClient {
  return {
    async start(method, params) {
      const r = await uisJson<{ result?: { data?: { call_session_id?: unknown } }; error?: { code: number; message: string; data?: { mnemonic?: string; field?: string } } }>(
        'call-api',
        o.url,
        { body: { jsonrpc: '2.0', id: nextId++, method, params: { access_token: o.token, ...params } }, fetch: o.fetch },
      );
      if (r?.error) throw new UisApiError(r.error.data?.mnemonic ?? `rpc_${r.error.code}`, r.error.message, 200, 'call-api', r.error.data?.field);
      const id = Number(r?.result?.data?.call_session_id);
      if (!Number.isInteger(id) || id <= 0) throw new UisApiError('bad_response', 'no call_session_id', 200, 'call-api');
      return id;
    },
  };
}

/** The Call API client of a linked account: its project's endpoint and its key (the Data API key works for both). */
export function callApiForLink(
  link: { project: 'uis' | 'comagic'; dataApiToken: string },
  uisEndpoints: (project: 'uis' | 'comagic') => { callApiUrl: string },
  fetchImpl?: typeof fetch,
): CallApiClient {
  return createCallApiClient({ url: uisEndpoints(link.project).callApiUrl, token: link.dataApiToken, fetch: fetchImpl });
}
