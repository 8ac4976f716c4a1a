import { stringify } from 'qs';
import { backoffDelay, type BackoffPolicy } from '../domain/backoff';
import type { Clock } from '../domain/clock';
import { canCallRest, type Portal, type PortalStatus, type PortalTokens } from '../domain/portal';
import type { Logger } from '../logging';
import type { Metrics } from '../metrics';
import { BitrixApiError, BitrixNetworkError, OAuthError, ReauthRequiredError } from './errors';
import { createPortalLimiter, createSharedPortalLimiter, type PortalLimiter, type SharedBucket } from './limiter';
import { createOperatingLimit, type OperatingLimit } from './operating-limit';
import type { OAuthClient } from './oauth';

/**
 * Per-portal Bitrix24 REST client (docs/facts/bitrix24.md#oauth, docs/facts/bitrix24.md#rest-calls).
 * - tokens come from the repository on every call, so a rotation by anyone is seen at once;
 * - `expired_token` → one refresh per portal in flight (concurrent callers wait for it), the new
 *   pair persisted before use, then the call is retried once; with `leases` (several instances on
 *   one database) the refresh runs under the portal's 'oauth' lease, so one instance of the cluster
 *   refreshes and the others wait and read the pair it stored (a refresh token is single-use: two
 *   refreshes at once would lock the portal out with invalid_grant);
 * - `invalid_grant` → portal marked reauth-required; later calls fail fast without network;
 * - pacing under the portal's leaky bucket; QUERY_LIMIT_EXCEEDED backs off and retries; with
 *   `sharedBuckets` the bucket's level is kept in the database, so instances sharing it pace the
 *   portal together (job-loop work, page requests and events alike);
 * - OPERATION_TIME_LIMIT blocks that method of that portal until the `operating_reset_at` of its
 *   last successful answer (operating-limit.ts): its callers wait, other methods go on; a batch
 *   waits for the methods it contains, and its commands' `result_time` count for their methods;
 * - network errors and 5xx are retried only for idempotent calls (a retried `*.add` could create twice).
 * We do not use b24jssdk's B24OAuth here: its retry-on-network-error is per client, not per call,
 * and its refresh coalescing does not persist-before-use or park the portal on invalid_grant.
 */
export interface RestTime {
  start?: number;
  finish?: number;
  operating?: number;
  operating_reset_at?: number;
}

export interface RestResponse<T = unknown> {
  result: T;
  total?: number;
  next?: number;
  time?: RestTime;
}

export interface CallOptions {
  /** Safe to resend after a network error or 5xx. Default: guessed from the method name. */
  idempotent?: boolean;
}

/** OPERATION_TIME_LIMIT answers one call sits out (each waits for a reset) before it fails. */
const MAX_OPERATING_BLOCKS = 5;
/** Retries within one call (503, 5xx, network errors of idempotent calls): 1 s, ×1.5, ±10 % (docs/facts/bitrix24-frame.md#rate-retries). */
const CALL_RETRY: BackoffPolicy = { baseMs: 1000, factor: 1.5, jitter: 0.1 };

export interface BatchCall {
  method: string;
  params?: Record<string, unknown>;
}

export interface BatchResponse {
  result: Record<string, unknown>;
  errors: Record<string, { error: string; error_description: string }>;
  total: Record<string, number>;
  next: Record<string, number>;
}

export interface PortalRestClient {
  readonly memberId: string;
  call<T = unknown>(method: string, params?: Record<string, unknown>, opts?: CallOptions): Promise<RestResponse<T>>;
  /** One `batch` request (≤ 50 commands); per-command errors come back in `errors`. */
  batch(calls: Record<string, BatchCall>, opts?: { halt?: boolean }): Promise<BatchResponse>;
  /** Every page of a list method (50 per page, `start` from `next`). */
  list<T = unknown>(method: string, params?: Record<string, unknown>): Promise<T[]>;
}

export interface BitrixGateway {
  client(memberId: string): PortalRestClient;
  /** The pacing limiter of a portal (shared by every caller in this process). */
  limiter(memberId: string): PortalLimiter;
  /**
   * The cluster's portal leases (issue #12), when several instances may share the database: the
   * job loops hold a portal's 'work' lease around their runs, so only its holder calls the portal
   * for job-loop work.
   */
  readonly leases?: PortalLeases;
}

/** Portal leases in the database (services/leases.ts LeaseKeeper is one), declared here for the adapter. */
export interface PortalLeases {
  readonly ttlMs: number;
  hold(memberId: string, area: string): Promise<{ release(): Promise<void> } | null>;
  /** Another instance's hold on the lease — held, or left to expire (it stalled, or died) — else null. */
  otherHolder?(memberId: string, area: string): Promise<{ owner: string; expired: boolean } | null>;
}

/** The lease area of a portal's token refresh. */
export const OAUTH_LEASE = 'oauth';
/** While another instance refreshes, the stored pair is read again this often. */
const REFRESH_POLL_MS = 50;

/**
 * What the client needs from portal storage: the portal, a rotated token pair persisted before it
 * is used, and `reauth-required` when the refresh is refused. Declared here, so the adapter does not
 * depend on the services that use it; services' AsyncPort<PortalRepository> is one.
 */
export interface PortalTokenStore {
  get(memberId: string): Promise<Portal | null>;
  saveTokens(memberId: string, tokens: PortalTokens, endpoints?: { clientEndpoint: string; domain: string }): Promise<void>;
  /** A portal's 302 to its new domain: the endpoint and domain only. */
  saveEndpoint(memberId: string, endpoints: { clientEndpoint: string; domain: string }): Promise<void>;
  setStatus(memberId: string, status: PortalStatus, reason: string | null): Promise<void>;
}

export interface GatewayDeps {
  portals: PortalTokenStore;
  oauth: OAuthClient;
  clock: Clock;
  rateLimit: { drainPerSec: number; burst: number };
  log: Logger;
  metrics?: Metrics;
  fetch?: typeof fetch;
  /** Per-request timeout; Bitrix24 cloud stops a request after 60 s. */
  timeoutMs?: number;
  /** Several instances on one database: token refreshes single-flight across them (and `gateway.leases`). */
  leases?: PortalLeases;
  /** Several instances on one database: each portal's bucket level shared by them (storage's RestBucketStore). */
  sharedBuckets?: { take(memberId: string, msPerRequest: number): Promise<number>; fill(memberId: string, capacity: number, msPerRequest: number): Promise<number> };
}

export const MAX_BATCH = 50;
const READ_METHOD = /\.(get|list|fields|status|info|current|search|getlastid)$/i;
const READ_METHODS = new Set(['profile', 'scope', 'methods', 'method.get', 'server.time', 'app.info', 'events', 'feature.get']);

export function isIdempotentMethod(method: string): boolean {
  const m = method.toLowerCase();
  return READ_METHODS.has(m) || READ_METHOD.test(m);
}

export function createBitrixGateway(deps: GatewayDeps): BitrixGateway {
  const limiters = new Map<string, PortalLimiter>();
  const operatingLimits = new Map<string, OperatingLimit>();
  const refreshing = new Map<string, Promise<void>>();
  const doFetch = deps.fetch ?? fetch;
  const count = (outcome: string) => deps.metrics?.restRequests.inc({ outcome });

  const limiterOf = (memberId: string) => {
    let l = limiters.get(memberId);
    if (!l) {
      const shared = deps.sharedBuckets;
      const bucket: SharedBucket | null = shared
        ? { take: (ms) => shared.take(memberId, ms), fill: (capacity, ms) => shared.fill(memberId, capacity, ms) }
        : null;
      l = bucket ? createSharedPortalLimiter(deps.rateLimit, deps.clock, bucket) : createPortalLimiter(deps.rateLimit, deps.clock);
      limiters.set(memberId, l);
    }
    return l;
  };

  const operatingOf = (memberId: string) => {
    let o = operatingLimits.get(memberId);
    if (!o) operatingLimits.set(memberId, (o = createOperatingLimit(deps.clock)));
    return o;
  };

  const load = async (memberId: string): Promise<Portal & { tokens: NonNullable<Portal['tokens']> }> => {
    const p = await deps.portals.get(memberId);
    if (!p || !canCallRest(p) || !p.tokens) throw new ReauthRequiredError(memberId);
    return p as Portal & { tokens: NonNullable<Portal['tokens']> };
  };

  /** The stored pair is no longer the one `usedToken` belongs to, and is live: someone refreshed. */
  const rotated = (p: Portal & { tokens: NonNullable<Portal['tokens']> }, usedToken: string) =>
    p.tokens.accessToken !== usedToken && p.tokens.expiresAt > deps.clock.now();

  /**
   * Single-flight refresh: callers holding `usedToken` share one grant; a token already rotated is just reused.
   * The flight is joined before the stored pair is read: a caller that read the old pair while the
   * previous flight stored the new one must not start a second grant with the spent refresh token.
   */
  const refresh = async (memberId: string, usedToken: string): Promise<void> => {
    let inflight = refreshing.get(memberId);
    if (!inflight) {
      inflight = (async () => {
        const p = await load(memberId);
        if (rotated(p, usedToken)) return;
        await (deps.leases ? refreshUnderLease(deps.leases, memberId, usedToken) : runRefresh(p));
      })().finally(() => refreshing.delete(memberId));
      refreshing.set(memberId, inflight);
    }
    await inflight;
  };

  /**
   * Across instances: the refresh runs under the portal's 'oauth' lease, and the stored pair is read
   * again once it is held (the previous holder may have just rotated it). Without the lease, the
   * stored pair is watched until the holder has stored a new one — or its lease expires (it died)
   * and this instance takes it.
   */
  const refreshUnderLease = async (leases: PortalLeases, memberId: string, usedToken: string): Promise<void> => {
    const giveUpAt = deps.clock.now() + 3 * leases.ttlMs;
    let graceUntil: number | null = null;
    for (;;) {
      // Another instance's refresh lease left to expire: it died — or it stalled (a pause longer than
      // the lease) with its grant under way, the refresh token spent and the new pair about to be
      // stored. A second grant with that token would be refused (invalid_grant) and lock the portal
      // out, so its pair is waited for, twice the lease's life, before the lease is taken over.
      const other = await leases.otherHolder?.(memberId, OAUTH_LEASE);
      if (other?.expired) {
        graceUntil ??= deps.clock.now() + 2 * leases.ttlMs;
        if (deps.clock.now() < graceUntil) {
          await deps.clock.sleep(REFRESH_POLL_MS);
          if (rotated(await load(memberId), usedToken)) return;
          continue;
        }
      }
      const hold = await leases.hold(memberId, OAUTH_LEASE);
      if (hold) {
        try {
          const p = await load(memberId);
          if (!rotated(p, usedToken)) await runRefresh(p);
          return;
        } finally {
          await hold.release().catch((e: unknown) => deps.log.warn({ err: e, memberId }, 'oauth lease release failed'));
        }
      }
      await deps.clock.sleep(REFRESH_POLL_MS);
      if (rotated(await load(memberId), usedToken)) return;
      if (deps.clock.now() > giveUpAt) throw new OAuthError('refresh_busy', 'another instance is refreshing this portal\'s token and has not finished', 0);
    }
  };

  const runRefresh = async (p: Portal & { tokens: NonNullable<Portal['tokens']> }) => {
    const log = deps.log.child({ memberId: p.memberId });
    try {
      const t = await deps.oauth.refresh(p.serverEndpoint, p.tokens.refreshToken);
      if (t.member_id !== p.memberId) throw new OAuthError('member_mismatch', 'the OAuth server answered for another portal', 200);
      await deps.portals.saveTokens(
        p.memberId,
        { accessToken: t.access_token, refreshToken: t.refresh_token, expiresAt: deps.clock.now() + t.expires_in * 1000 },
        { clientEndpoint: t.client_endpoint, domain: new URL(t.client_endpoint).host },
      );
      deps.metrics?.tokenRefreshes.inc({ outcome: 'ok' });
      log.info('token refreshed');
    } catch (e) {
      deps.metrics?.tokenRefreshes.inc({ outcome: e instanceof OAuthError ? e.code : 'error' });
      if (e instanceof OAuthError && (e.code === 'invalid_grant' || e.code === 'invalid_client')) {
        await deps.portals.setStatus(p.memberId, 'reauth-required', `refresh refused: ${e.code}`);
        log.warn({ code: e.code }, 'refresh token refused; portal needs re-authorisation');
        throw new ReauthRequiredError(p.memberId);
      }
      throw e;
    }
  };

  const backoff = (attempt: number) => backoffDelay(CALL_RETRY, attempt - 1);

  const send = async (p: Portal, method: string, params: Record<string, unknown>, token: string) => {
    const url = `${p.clientEndpoint.replace(/\/+$/, '')}/${method}`;
    const res = await doFetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ ...params, auth: token }),
      redirect: 'manual',
      signal: AbortSignal.timeout(deps.timeoutMs ?? 60_000),
    });
    const json = (await res.json().catch(() => null)) as Record<string, unknown> | null;
    return { status: res.status, location: res.headers.get('location'), json };
  };

  const client = (memberId: string): PortalRestClient => {
    const limiter = limiterOf(memberId);
    const operating = operatingOf(memberId);
    const log = deps.log.child({ memberId });

    /** `waitFor`: the methods whose OPERATION_TIME_LIMIT block this call must sit out (a batch: its commands'). */
    const call = async <T>(method: string, params: Record<string, unknown> = {}, opts: CallOptions & { waitFor?: readonly string[] } = {}): Promise<RestResponse<T>> => {
      const idempotent = opts.idempotent ?? isIdempotentMethod(method);
      const waitFor = opts.waitFor ?? [method];
      let refreshed = false;
      let blocks = 0;
      for (let attempt = 1; ; attempt++) {
        let p = await load(memberId);
        if (p.tokens.expiresAt <= deps.clock.now()) {
          await refresh(memberId, p.tokens.accessToken);
          p = await load(memberId);
        }
        await operating.waitFor(waitFor);
        await limiter.acquire();
        let res: Awaited<ReturnType<typeof send>>;
        try {
          res = await send(p, method, params, p.tokens.accessToken);
        } catch (e) {
          count('network');
          if (idempotent && attempt < 4) {
            await deps.clock.sleep(backoff(attempt));
            continue;
          }
          throw new BitrixNetworkError(method, e);
        }
        if (res.status >= 300 && res.status < 400 && res.location && attempt < 4) {
          await moveEndpoint(p, res.location);
          continue;
        }
        const code = typeof res.json?.error === 'string' ? res.json.error : res.json ? null : `HTTP_${res.status}`;
        if (code === null && res.status < 400) {
          count('ok');
          operating.noteTime(method, res.json?.time);
          return res.json as unknown as RestResponse<T>;
        }
        const desc = String(res.json?.error_description ?? '');
        if ((code === 'expired_token' || code === 'invalid_token') && !refreshed) {
          count('expired');
          refreshed = true;
          await refresh(memberId, p.tokens.accessToken);
          continue;
        }
        if (code === 'QUERY_LIMIT_EXCEEDED' && attempt < 8) {
          // Rejected before execution, so retrying is safe even for writes.
          count('limited');
          limiter.onLimitExceeded();
          log.warn({ method, attempt }, 'portal rate limit hit; backing off');
          await deps.clock.sleep(backoff(attempt));
          continue;
        }
        if (code === 'OPERATION_TIME_LIMIT' && ++blocks <= MAX_OPERATING_BLOCKS) {
          // refused before it ran: the method sits out its reset (the loop waits at the top), others go on
          count('limited');
          const until = operating.block(method, res.json?.time);
          log.warn({ method, until: new Date(until).toISOString() }, 'method blocked by the portal (OPERATION_TIME_LIMIT); waiting for its reset');
          attempt--; // not a failed attempt: the wait is the portal's schedule, not a back-off
          continue;
        }
        count('error');
        if (res.status >= 500 && idempotent && attempt < 4 && code !== 'QUERY_LIMIT_EXCEEDED') {
          await deps.clock.sleep(backoff(attempt));
          continue;
        }
        throw new BitrixApiError(code ?? `HTTP_${res.status}`, desc, res.status, method);
      }
    };

    /** A renamed portal answers 302 to its new host (docs/facts/bitrix24.md#domain-change); member_id stays, the endpoint moves. */
    const moveEndpoint = async (p: Portal, location: string) => {
      const loc = new URL(location, p.clientEndpoint);
      if (!loc.pathname.startsWith('/rest/') || !/^https?:$/.test(loc.protocol)) {
        throw new BitrixApiError('UNEXPECTED_REDIRECT', `redirect to ${loc.origin}${loc.pathname}`, 302, 'redirect');
      }
      // the endpoint only: a pair rotated while this request was on its way stays (the pair read before it would undo it)
      await deps.portals.saveEndpoint(p.memberId, { clientEndpoint: `${loc.origin}/rest/`, domain: loc.host });
      log.info({ domain: loc.host }, 'portal moved to a new domain');
    };

    return {
      memberId,
      call,
      async batch(calls, opts = {}) {
        const keys = Object.keys(calls);
        if (keys.length > MAX_BATCH) throw new Error(`batch takes at most ${MAX_BATCH} commands, got ${keys.length}`);
        if (keys.length === 0) return { result: {}, errors: {}, total: {}, next: {} };
        const cmd: Record<string, string> = {};
        for (const k of keys) cmd[k] = `${calls[k]!.method}?${stringify(calls[k]!.params ?? {})}`;
        const idempotent = keys.every((k) => isIdempotentMethod(calls[k]!.method));
        // each command is checked against its own method's budget: sit out the blocked ones first
        const methods = [...new Set(keys.map((k) => calls[k]!.method.toLowerCase()))];
        const r = await call<Record<string, unknown>>('batch', { halt: opts.halt ? 1 : 0, cmd }, { idempotent, waitFor: ['batch', ...methods] });
        const obj = (v: unknown) => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, never>) : {});
        const times = obj(r.result.result_time) as Record<string, unknown>;
        for (const k of Object.keys(times)) if (calls[k]) operating.noteTime(calls[k].method, times[k]);
        const errors = obj(r.result.result_error) as Record<string, { error?: unknown }>;
        for (const k of Object.keys(errors)) {
          if (calls[k] && errors[k]?.error === 'OPERATION_TIME_LIMIT') {
            const until = operating.block(calls[k].method);
            log.warn({ method: calls[k].method, until: new Date(until).toISOString() }, 'batch command blocked by the portal (OPERATION_TIME_LIMIT)');
          }
        }
        return {
          result: obj(r.result.result),
          errors: obj(r.result.result_error),
          total: obj(r.result.result_total),
          next: obj(r.result.result_next),
        };
      },
      async list<T>(method: string, params: Record<string, unknown> = {}) {
        const out: T[] = [];
        let start: number | undefined = 0;
        while (start !== undefined) {
          const r: RestResponse<T[]> = await call<T[]>(method, { ...params, start });
          if (!Array.isArray(r.result)) throw new BitrixApiError('UNEXPECTED_RESULT', 'list result is not an array', 200, method);
          out.push(...r.result);
          start = typeof r.next === 'number' && r.next > start ? r.next : undefined;
        }
        return out;
      },
    };
  };

  return { client, limiter: limiterOf, leases: deps.leases };
}

/**
 * One call with a token that is not (yet) the portal's stored one: verifying a frame user's
 * AUTH_ID or fresh install credentials. The endpoint must come from a verified source (the
 * OAuth server's answer or the stored portal), never from the request. Paced by the portal's limiter.
 */
export async function callWithToken<T>(
  deps: Pick<GatewayDeps, 'fetch' | 'timeoutMs'> & { limiter?: PortalLimiter },
  clientEndpoint: string,
  token: string,
  method: string,
  params: Record<string, unknown> = {},
): Promise<RestResponse<T>> {
  await deps.limiter?.acquire();
  let res: Response;
  try {
    res = await (deps.fetch ?? fetch)(`${clientEndpoint.replace(/\/+$/, '')}/${method}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ ...params, auth: token }),
      redirect: 'error',
      signal: AbortSignal.timeout(deps.timeoutMs ?? 30_000),
    });
  } catch (e) {
    throw new BitrixNetworkError(method, e);
  }
  const json = (await res.json().catch(() => null)) as Record<string, unknown> | null;
  if (!json || typeof json.error === 'string' || !res.ok) {
    throw new BitrixApiError(String(json?.error ?? `HTTP_${res.status}`), String(json?.error_description ?? ''), res.status, method);
  }
  return json as unknown as RestResponse<T>;
}
