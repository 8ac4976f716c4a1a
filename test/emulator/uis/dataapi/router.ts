/**
 * Data API 2.0 endpoint (Data API §"Базовый URL", §"Обработка ошибок", §"Мета-параметры"):
 * POST only, JSON-RPC 2.0; batches (arrays) → −32099 `batch_opreations_not_supported` and
 * notifications (no `id`) → −32099 `notifications_not_supported`; `access_token` inside `params`
 * (a permanent key or a login.user session key); every answer for a known account carries
 * `metadata.limits` — in `result.metadata` on success and in `error.data.metadata` on errors.
 * Only successful calls cost points. JSON-RPC errors travel with HTTP 200.
 */
import express from 'express';
import type { AccountImpl } from '../account';
import type { World } from '../world';
import { rpc, RpcError } from './errors';
import { loginUser, METHODS } from './methods';

type Json = Record<string, unknown>;

function errorBody(id: unknown, e: RpcError, account?: AccountImpl): Json {
  const data: Json = { mnemonic: e.mnemonic };
  if (e.extra.field !== undefined) data.field = e.extra.field;
  if (e.extra.value !== undefined) data.value = e.extra.value;
  if (e.extra.params !== undefined) data.params = e.extra.params;
  if (account) data.metadata = { limits: account.budget.view() };
  return { jsonrpc: '2.0', id: id ?? null, error: { code: e.code, message: e.message, data } };
}

function findAccount(world: World, token: unknown): AccountImpl {
  if (token === undefined || token === null || token === '') throw rpc.required('access_token');
  if (typeof token !== 'string') throw rpc.tokenInvalid();
  const now = world.clock.now();
  for (const a of world.accounts) {
    if (a.dataApiToken === token) return a;
    const exp = a.sessionKeys.get(token);
    if (exp !== undefined) {
      if (exp > now) return a;
      a.sessionKeys.delete(token);
    }
  }
  throw rpc.tokenInvalid();
}

export function dataApiRouter(world: World): express.Router {
  const router = express.Router();
  router.post('/', express.text({ type: () => true, limit: '5mb' }), (req, res) => {
    let id: unknown = null;
    let account: AccountImpl | undefined;
    try {
      let body: unknown;
      try {
        body = JSON.parse(typeof req.body === 'string' ? req.body : '');
      } catch {
        throw rpc.parse();
      }
      if (Array.isArray(body)) throw rpc.batch();
      if (typeof body !== 'object' || body === null) throw rpc.invalidRequest();
      const call = body as Json;
      if (!('id' in call)) throw rpc.notification();
      id = call.id;
      if (typeof id !== 'string' && typeof id !== 'number') throw rpc.invalidRequest();
      if (call.jsonrpc !== '2.0' || typeof call.method !== 'string') throw rpc.invalidRequest();
      if (typeof call.params !== 'object' || call.params === null || Array.isArray(call.params)) throw rpc.invalidRequest();
      const params = call.params as Json;
      const now = world.clock.now();

      if (call.method === 'login.user') {
        const { account: a, data } = loginUser(world.accounts, params, now);
        account = a;
        const over = a.budget.exceeded();
        if (over) throw rpc.limit(over, over === 'day' ? a.budget.dayLimit : a.budget.minuteLimit);
        a.budget.charge();
        res.json({ jsonrpc: '2.0', id, result: { data, metadata: { limits: a.budget.view() } } });
        return;
      }

      const method = METHODS[call.method];
      if (!method) throw rpc.methodNotFound();
      account = findAccount(world, params.access_token);
      for (const k of Object.keys(params)) {
        if (k !== 'access_token' && k !== 'user_id' && !method.params.includes(k)) throw rpc.unexpected(k);
      }
      const over = account.budget.exceeded();
      if (over) throw rpc.limit(over, over === 'day' ? account.budget.dayLimit : account.budget.minuteLimit);
      const out = method.run({ account, params });
      account.budget.charge();
      const metadata: Json = { limits: account.budget.view() };
      if (method.get) metadata.total_items = out.total ?? (Array.isArray(out.data) ? out.data.length : 1);
      res.json({ jsonrpc: '2.0', id, result: { data: out.data, metadata } });
    } catch (e) {
      if (e instanceof RpcError) {
        res.json(errorBody(id, e, account));
        return;
      }
      res.json(errorBody(id, new RpcError(-32603, 'Internal error, contact the support service', 'internal_error'), account));
    }
  });
  router.all('/', (_req, res) => {
    res.status(405).setHeader('Allow', 'POST').type('text/plain').send('Method Not Allowed');
  });
  return router;
}
