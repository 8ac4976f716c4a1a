import { AmoApiError, AmoReauthError } from '../../amocrm/errors';
import { accountOrigin, authorizeUrl, exchangeCode } from '../../amocrm/oauth';
import type { AmoConnectRequest, AmoFields } from '../../contracts/chat-sources';
import { AppError, badRequest } from '../../domain/errors';
import { amoHookUrl, type ChatSourcesDeps } from './deps';
import { signState, verifyState } from './oauth-state';
import { ensureHookSecret } from './hook-secret';

/**
 * «Учетные данные» of amoCRM (seed 003 step 1; docs/facts/chat-sources.md#amocrm-oauth): the authorization-code flow
 * through the account's chooser, the pair stored sealed, then the «Беседа изменена» webhook
 * registered by API (`POST /api/v4/webhooks`, administrators only and not on every plan —
 * otherwise the tab shows how to make it by hand), checked and renewed by the keep-alive.
 */
function oauthOf(deps: ChatSourcesDeps) {
  if (!deps.amoOAuth) throw new AppError('AMO_NOT_CONFIGURED', 'This installation has no amoCRM integration (AMOCRM_CLIENT_ID is not set)', 400);
  return deps.amoOAuth;
}

/** The chooser URL for «Подключить»: the admin picks the account (with admin rights) there. */
export async function beginAmoConnect(deps: ChatSourcesDeps, memberId: string, req: AmoConnectRequest): Promise<{ authorizeUrl: string }> {
  const cfg = oauthOf(deps);
  const origin = accountOrigin(cfg, req.domain);
  if (!origin) throw badRequest('AMO_DOMAIN_INVALID', 'Enter the address of your amoCRM account, e.g. romashka.amocrm.ru');
  await ensureHookSecret(deps, memberId, 'amocrm');
  const state = signState(deps.stateSecret, { memberId, name: req.name, origin }, deps.clock.now());
  return { authorizeUrl: authorizeUrl(cfg, origin, state) };
}

export type AmoCallbackResult = { ok: true; memberId: string; webhook: 'api' | 'manual' } | { ok: false; status: number; code: string; message: string };

/**
 * amoCRM came back to our Redirect URI: a valid state (this portal, not stale), a `referer` on a
 * trusted amoCRM host (the client secret goes nowhere else), the code exchanged, the account read,
 * the connection saved and the webhook registered.
 */
export async function finishAmoConnect(deps: ChatSourcesDeps, q: { code?: string; state?: string; referer?: string; error?: string }): Promise<AmoCallbackResult> {
  const cfg = oauthOf(deps);
  const now = deps.clock.now();
  const state = q.state ? verifyState(deps.stateSecret, q.state, now) : null;
  if (!state) return { ok: false, status: 400, code: 'STATE_INVALID', message: 'The connection link is not valid any more: start again from the app' };
  if (q.error || !q.code) return { ok: false, status: 400, code: 'AMO_DENIED', message: 'amoCRM did not grant access' };
  const origin = q.referer ? accountOrigin(cfg, q.referer) : state.origin;
  if (!origin) return { ok: false, status: 400, code: 'AMO_DOMAIN_INVALID', message: 'amoCRM named an account host we do not trust' };
  try {
    const tokens = await exchangeCode(cfg, origin, q.code, now, deps.fetch);
    const r = await (deps.fetch ?? fetch)(`${origin}/api/v4/account`, { headers: { authorization: `Bearer ${tokens.accessToken}`, accept: 'application/json' }, signal: AbortSignal.timeout(15_000) });
    const account = (await r.json().catch(() => ({}))) as { id?: unknown };
    if (!r.ok || typeof account.id !== 'number') return { ok: false, status: 502, code: 'AMO_ACCOUNT_UNREADABLE', message: `amoCRM did not tell which account this is (HTTP ${r.status})` };
    await deps.amoAccounts.connect({ memberId: state.memberId, name: state.name, origin, accountId: account.id, webhook: { mode: 'manual', disabled: false, detail: null }, connectedAt: now }, tokens, now);
    const webhook = await registerAmoWebhook(deps, state.memberId);
    await deps.sources.noteError(state.memberId, 'amocrm', webhook === 'manual' ? { at: now, code: 'AMO_WEBHOOK_MANUAL', message: 'the webhook could not be made by API' } : null);
    // talks that waited for the grant go now, and those the previous user had no rights to read
    // (AMO_FORBIDDEN: «connect again as an administrator») go again
    const again = (await deps.sources.retryWaiting(state.memberId, 'amocrm', now)) + (await deps.sources.retryFailed(state.memberId, 'amocrm', 'AMO_FORBIDDEN', now));
    if (again) deps.wake();
    deps.log.info({ memberId: state.memberId, accountId: account.id, webhook }, 'amoCRM account connected');
    return { ok: true, memberId: state.memberId, webhook };
  } catch (e) {
    if (e instanceof AmoReauthError) return { ok: false, status: 400, code: 'AMO_CODE_REFUSED', message: `amoCRM refused the code: ${e.reason}` };
    if (e instanceof AmoApiError) return { ok: false, status: 502, code: 'AMO_UNAVAILABLE', message: e.message };
    throw e;
  }
}

/**
 * Makes sure amoCRM sends «Беседа изменена» (`update_talk`) to our URL: an existing enabled hook is
 * kept, a missing or disabled one (amoCRM disables hooks that keep failing) is created again. A
 * 403 (not an administrator, or the plan) leaves it to the admin, with the steps on the tab.
 */
export async function registerAmoWebhook(deps: ChatSourcesDeps, memberId: string): Promise<'api' | 'manual'> {
  const secret = await ensureHookSecret(deps, memberId, 'amocrm');
  const destination = amoHookUrl(deps.appUrl, secret);
  const client = deps.amo.client(memberId);
  try {
    const list = await client.get<{ _embedded?: { webhooks?: Array<{ destination?: string; disabled?: boolean; settings?: string[] }> } }>('/api/v4/webhooks', { 'filter[destination]': destination });
    const hook = list?._embedded?.webhooks?.find((w) => w.destination === destination);
    const wasDisabled = !!hook?.disabled;
    if (!hook || hook.disabled || !hook.settings?.includes('update_talk')) {
      await client.send('POST', '/api/v4/webhooks', { destination, settings: ['update_talk'], sort: 10 });
    }
    await deps.amoAccounts.setWebhook(memberId, { mode: 'api', disabled: false, detail: wasDisabled ? 'amoCRM had disabled the webhook; it was registered again' : null });
    if (wasDisabled) await deps.sources.noteError(memberId, 'amocrm', { at: deps.clock.now(), code: 'AMO_WEBHOOK_DISABLED', message: 'amoCRM had switched the webhook off; registered again' });
    return 'api';
  } catch (e) {
    if (e instanceof AmoApiError && (e.status === 403 || e.status === 402)) {
      await deps.amoAccounts.setWebhook(memberId, { mode: 'manual', disabled: false, detail: e.message.slice(0, 300) });
      return 'manual';
    }
    throw e;
  }
}

/** «Отключить»: our webhook removed from amoCRM when it lets us, then the grant forgotten. */
export async function disconnectAmo(deps: ChatSourcesDeps, memberId: string): Promise<void> {
  const conn = await deps.amoAccounts.get(memberId);
  if (!conn) return;
  const secret = await ensureHookSecret(deps, memberId, 'amocrm');
  if (conn.webhook.mode === 'api' && conn.status === 'active') {
    await deps.amo
      .client(memberId)
      .send('DELETE', '/api/v4/webhooks', { destination: amoHookUrl(deps.appUrl, secret) })
      .catch((e: unknown) => deps.log.warn({ err: e, memberId }, 'amoCRM webhook not removed'));
  }
  await deps.amoAccounts.remove(memberId);
}

const SESSION_TYPES = ['text', 'numeric', 'textarea'];

/** Fields the «Кастомное поле для сессии» picker offers: text-like fields of leads and contacts, every page. */
export async function amoFields(deps: ChatSourcesDeps, memberId: string): Promise<AmoFields> {
  if (!(await deps.amoAccounts.get(memberId))) throw badRequest('AMO_NOT_CONNECTED', 'Connect an amoCRM account first');
  const client = deps.amo.client(memberId);
  const out: AmoFields = [];
  try {
    for (const entity of ['leads', 'contacts'] as const) {
      for (let page = 1; page <= 20; page++) {
        const r = await client.get<{ _embedded?: { custom_fields?: Array<{ id?: unknown; name?: unknown; type?: unknown }> }; _links?: { next?: unknown } }>(`/api/v4/${entity}/custom_fields`, { page, limit: 250 });
        for (const f of r?._embedded?.custom_fields ?? []) {
          if (typeof f.id === 'number' && typeof f.type === 'string' && SESSION_TYPES.includes(f.type)) out.push({ entity, id: f.id, name: String(f.name ?? f.id).slice(0, 200), type: f.type });
        }
        if (!r?._links?.next) break;
      }
    }
  } catch (e) {
    if (e instanceof AmoReauthError) throw new AppError('AMO_REAUTH', 'amoCRM access was lost: connect the account again', 409);
    if (e instanceof AmoApiError) throw new AppError('AMO_UNAVAILABLE', `amoCRM did not answer: ${e.message}`, 503);
    throw e;
  }
  return out;
}
