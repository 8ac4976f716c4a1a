/**
 * The personal-cabinet login the Management API needs (Chat API §"Управление адаптерами"):
 * `POST /api/auth/json_rpc?method=login`, JSON-RPC `login` with `login`, `password`, `project`
 * (`uis2` for go.uiscom.ru, `comagic` for go.comagic.ru). Success, as in §"Примеры":
 * `{"error": null, "id": …, "jsonrpc": "2.0", "result": {"is_2fa_enabled": false, "jwt": …, "refresh": …}}`.
 *
 * Not documented, chosen here: errors reuse the Data API's JSON-RPC error form (same vendor) —
 * bad credentials `-32001 auth_error`, missing params `-32602 required_parameter_missed`; the jwt
 * lives `jwtTtlSec` (1 h); the `refresh` value is issued but no refresh method is offered (the docs
 * name none) — log in again when the jwt expires. The response echoes the request id (the docs'
 * example shows a different id in the answer, most likely from another run).
 */
import express from 'express';
import { randomHex } from './ids';
import { signJwt } from './jwt';
import type { World } from './world';

type Json = Record<string, unknown>;

function rpcError(id: unknown, code: number, message: string, mnemonic: string, field?: string): Json {
  return { error: { code, message, data: { mnemonic, ...(field ? { field } : {}) } }, id: id ?? null, jsonrpc: '2.0', result: null };
}

export function authRouter(world: World): express.Router {
  const router = express.Router();
  router.post('/api/auth/json_rpc', express.text({ type: () => true, limit: '1mb' }), (req, res) => {
    let body: unknown;
    try {
      body = JSON.parse(typeof req.body === 'string' ? req.body : '');
    } catch {
      res.json(rpcError(null, -32700, 'Invalid JSON was received by the server.', 'parse_error'));
      return;
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      res.json(rpcError(null, -32600, 'Invalid Request The JSON sent is not a valid Request object', 'invalid_request'));
      return;
    }
    const rpc = body as Json;
    const method = typeof rpc.method === 'string' ? rpc.method : typeof req.query.method === 'string' ? req.query.method : undefined;
    if (rpc.jsonrpc !== '2.0' || rpc.id === undefined) {
      res.json(rpcError(rpc.id, -32600, 'Invalid Request The JSON sent is not a valid Request object', 'invalid_request'));
      return;
    }
    if (method !== 'login') {
      res.json(rpcError(rpc.id, -32601, 'The method does not exist / is not available', 'method_not_found'));
      return;
    }
    const params = (typeof rpc.params === 'object' && rpc.params !== null ? rpc.params : {}) as Json;
    for (const key of ['login', 'password', 'project']) {
      if (typeof params[key] !== 'string' || params[key] === '') {
        res.json(rpcError(rpc.id, -32602, 'The required parameter has been missed', 'required_parameter_missed', key));
        return;
      }
    }
    const project = params.project === 'uis2' ? 'uis' : params.project === 'comagic' ? 'comagic' : null;
    if (!project) {
      res.json(rpcError(rpc.id, -32602, 'Invalid parameter value', 'invalid_parameter_value', 'project'));
      return;
    }
    // Credentials of a uiscom.ru cabinet do not open comagic.ru and vice versa (Data API §"Базовый URL").
    const account = world.accounts.find((a) => a.login === params.login && a.password === params.password && a.project === project);
    if (!account) {
      res.json(rpcError(rpc.id, -32001, 'Login or password is wrong', 'auth_error'));
      return;
    }
    const now = world.clock.now();
    const jwt = signJwt(
      { sub: String(account.appId), app_id: account.appId, user_login: account.login, project: params.project, iat: Math.floor(now / 1000), exp: Math.floor(now / 1000) + world.config.jwtTtlSec },
      world.secret,
    );
    res.json({ error: null, id: rpc.id, jsonrpc: '2.0', result: { is_2fa_enabled: false, jwt, refresh: randomHex(16) } });
  });
  return router;
}
