import type { UisProject } from '../contracts/uis';
import { createDataApiClient } from './data-api';
import type { UisEndpoints } from './endpoints';
import { UisApiError } from './errors';
import { uisJson } from './http';

/** Chat API channel types an adapter can serve (docs/facts/uis.md#management-api). */
export const ADAPTER_CHANNEL_TYPES = ['comagic', 'telegram', 'telegram_private', 'whatsapp', 'waba', 'avito', 'viber', 'sms', 'email', 'auto_ru', 'realty_yandex'];

/** What linking needs from UIS: check the Data API key, log in, register our adapter, connect it. */
export interface UisManagement {
  /** Data API check of the key; answers the account it belongs to. */
  verifyDataApi(e: UisEndpoints, token: string): Promise<{ accountId: string; accountName: string | null }>;
  /** Management JWT for an account user. */
  login(e: UisEndpoints, project: UisProject, login: string, password: string): Promise<string>;
  /** Create our adapter, or update it when one of that type exists (idempotent). */
  ensureAdapter(
    e: UisEndpoints,
    jwt: string,
    spec: { type: string; name: string; login: string; password: string; webhookUrl: string; webhookSecret: string },
  ): Promise<{ adapterId: string }>;
  /** Connect the adapter to the account (idempotent). */
  connectAccount(e: UisEndpoints, jwt: string, adapterId: string, name: string): Promise<{ connectionId: string }>;
  /** Remove the connection and the adapter; missing ones are not an error. */
  disconnect(e: UisEndpoints, jwt: string, ids: { adapterId: string | null; connectionId: string | null }): Promise<void>;
}

type Row = Record<string, unknown>;
const list = (v: unknown): Row[] => (Array.isArray(v) ? (v as Row[]) : Array.isArray((v as { data?: unknown })?.data) ? ((v as { data: Row[] }).data) : []);
const one = (v: unknown): Row => ((v as { data?: unknown })?.data && !Array.isArray((v as { data?: unknown }).data) ? ((v as { data: Row }).data) : ((v ?? {}) as Row));

/** UIS adapter registration and account connection over the Chat API management REST API. */
export function createUisManagement(o: { fetch?: typeof fetch } = {}): UisManagement {
  const auth = (jwt: string) => ({ authorization: `Bearer ${jwt}` });
  const mgmt = <T>(e: UisEndpoints, jwt: string, method: string, path: string, body?: unknown) =>
    uisJson<T>('management', `${e.managementUrl}${path}`, { method, headers: auth(jwt), body, fetch: o.fetch });

  return {
    async verifyDataApi(e, token) {
      const r = await createDataApiClient({ url: e.dataApiUrl, token, fetch: o.fetch }).call<Row | Row[]>('get.account');
      const acc = Array.isArray(r.data) ? r.data[0] : r.data;
      if (!acc || acc.app_id === undefined) throw new UisApiError('bad_response', 'get.account returned no account', 200, 'data-api');
      return { accountId: String(acc.app_id), accountName: typeof acc.name === 'string' ? acc.name : null };
    },

    async login(e, project: UisProject, login, password) {
      const r = await uisJson<{ result?: Row; error?: { message?: string; data?: { mnemonic?: string } } }>('auth', `${e.authUrl}?method=login`, {
        body: { jsonrpc: '2.0', id: 1, method: 'login', params: { login, password, project: project === 'uis' ? 'uis2' : 'comagic' } },
        fetch: o.fetch,
      });
      if (r.error) throw new UisApiError(r.error.data?.mnemonic ?? 'auth_error', r.error.message ?? '', 200, 'auth');
      const res = one(r.result);
      const jwt = res.jwt ?? (r.result as Row | undefined)?.jwt;
      if (typeof jwt !== 'string' || !jwt) throw new UisApiError('auth_error', 'no jwt in the login answer', 200, 'auth');
      return jwt;
    },

    async ensureAdapter(e, jwt, spec) {
      const body = {
        type: spec.type,
        name: spec.name,
        login: spec.login,
        password: spec.password,
        webhook_url: spec.webhookUrl,
        webhook_version: 'v2',
        webhook_auth: { type: 'Bearer', token: spec.webhookSecret },
        supported_channel_types: ADAPTER_CHANNEL_TYPES,
      };
      const existing = list(await mgmt<unknown>(e, jwt, 'GET', '/v1/integration/adapter')).find((a) => a.type === spec.type);
      if (existing) {
        await mgmt(e, jwt, 'PATCH', `/v1/integration/adapter/${String(existing.id)}`, body);
        return { adapterId: String(existing.id) };
      }
      const created = one(await mgmt<unknown>(e, jwt, 'POST', '/v1/integration/adapter', body));
      return { adapterId: String(created.id) };
    },

    async connectAccount(e, jwt, adapterId, name) {
      // Every active channel our adapter can serve; the per-line choice is ours (connector page).
      const channels = list(await mgmt<unknown>(e, jwt, 'GET', '/v1/integration/channel'))
        .filter((c) => c.is_active !== false && c.is_removed !== true && ADAPTER_CHANNEL_TYPES.includes(String(c.type)))
        .map((c) => Number(c.id));
      const body = { name, adapter_id: Number(adapterId), channels, context: { is_chat_integration_scenario_created: true } };
      const existing = list(await mgmt<unknown>(e, jwt, 'GET', '/v1/integration/account')).find((a) => String(a.adapter_id) === adapterId);
      if (existing) {
        await mgmt(e, jwt, 'PATCH', `/v1/integration/account/${String(existing.id)}`, { channels });
        return { connectionId: String(existing.id) };
      }
      const created = one(await mgmt<unknown>(e, jwt, 'POST', '/v1/integration/account', body));
      return { connectionId: String(created.id) };
    },

    async disconnect(e, jwt, ids) {
      const ignoreMissing = async (work: () => Promise<unknown>) => {
        try {
          await work();
        } catch (err) {
          if (!(err instanceof UisApiError && err.httpStatus === 404)) throw err;
        }
      };
      if (ids.connectionId) await ignoreMissing(() => mgmt(e, jwt, 'DELETE', `/v1/integration/account/${ids.connectionId}`));
      if (ids.adapterId) await ignoreMissing(() => mgmt(e, jwt, 'DELETE', `/v1/integration/adapter/${ids.adapterId}`));
    },
  };
}
