import { backoffDelay } from '../domain/backoff';
import type { Clock } from '../domain/clock';
import { AmoApiError, AmoReauthError } from './errors';
import { createPacer, type Pacer } from './pacer';
import { refreshTokens, type AmoOAuthConfig, type AmoTokens } from './oauth';

/**
 * The amoCRM API v4 client of a connected account (docs/facts/chat-sources.md#amocrm-oauth, docs/facts/chat-sources.md#amocrm-api): bearer tokens
 * refreshed ahead of expiry and on 401, ONE refresh at a time per account — in this process (a
 * shared promise) and across processes (a lease in the store), because a refresh token works once
 * and a second use revokes the grant; the rotated pair is saved only if the stored refresh token
 * is still the one used (compare-and-set). Requests are paced per amoCRM host under its limit of
 * 7 per second (Kommo «Limitations»: 429 beyond it, an IP block if it goes on): 5 per second,
 * evenly (pacer.ts), across the instances of a cluster with `pacing` (issue #12); a 429 slows the
 * pace and the request is retried, so nothing is lost.
 */
export interface AmoTokenStore {
  /** The account's API origin, tokens and status; null when not connected. */
  load(memberId: string): Promise<{ origin: string; tokens: AmoTokens; status: 'active' | 'reauth' } | null>;
  /** Saves a rotated pair unless another refresh already replaced `previousRefresh`. */
  saveTokens(memberId: string, tokens: AmoTokens, previousRefresh: string): Promise<boolean>;
  /** Takes the refresh lease until `until` (ms) unless another holder has it; releases with `release`. */
  leaseRefresh(memberId: string, until: number, now: number): Promise<boolean>;
  releaseRefresh(memberId: string): Promise<void>;
  setStatus(memberId: string, status: 'active' | 'reauth', reason: string | null): Promise<void>;
}

export interface AmoClient {
  /** GET; null for 204 (amoCRM's empty list). */
  get<T = Record<string, unknown>>(path: string, query?: Record<string, string | number | Array<string | number>>): Promise<T | null>;
  send<T = Record<string, unknown>>(method: 'POST' | 'PATCH' | 'DELETE', path: string, body: unknown): Promise<T | null>;
  /** Rotate the pair now (the keep-alive: a refresh token unused for 3 months dies). */
  refreshNow(): Promise<void>;
}

export interface AmoGateway {
  client(memberId: string): AmoClient;
  /** Refreshes performed by this process (tests, metrics). */
  readonly refreshes: number;
}

/**
 * The pacing of amoCRM hosts shared by the instances of a cluster (issue #12; SQLite:
 * storage/amocrm-pacing-repository.ts, migration 030): one row per host, the last release of any
 * instance, so N instances together stay at 5 requests per second per account, not N × 5.
 */
export interface AmoPacingStore {
  /** 0 and the slot taken when `intervalMs` has passed since the host's last release; else ms to wait. */
  take(origin: string, intervalMs: number): Promise<number>;
  /** No slot of the host before `at` (a 429). */
  holdUntil(origin: string, at: number): Promise<void>;
}

export interface AmoGatewayOptions {
  store: AmoTokenStore;
  oauth: AmoOAuthConfig;
  clock: Clock;
  fetch?: typeof fetch;
  /** requests per second per amoCRM host (default 5; amoCRM allows 7) */
  perSecond?: number;
  /** Several instances on one database: the hosts' pacing shared (without it, per process). */
  pacing?: AmoPacingStore;
  /** refresh this long before expiry (default 10 min) */
  refreshAheadMs?: number;
}

const MAX_RETRIES = 10;

export function createAmoGateway(o: AmoGatewayOptions): AmoGateway {
  const fetchImpl = o.fetch ?? fetch;
  const ahead = o.refreshAheadMs ?? 10 * 60_000;
  const pacers = new Map<string, Pacer>();
  const inFlight = new Map<string, Promise<{ origin: string; tokens: AmoTokens }>>();
  const gateway = { refreshes: 0 } as { refreshes: number };

  const pacer = (origin: string) => {
    let p = pacers.get(origin);
    if (!p) {
      const shared = o.pacing;
      p = createPacer(o.perSecond ?? 5, o.clock, shared ? { take: (ms) => shared.take(origin, ms), holdUntil: (at) => shared.holdUntil(origin, at) } : undefined);
      pacers.set(origin, p);
    }
    return p;
  };

  async function loaded(memberId: string) {
    const t = await o.store.load(memberId);
    if (!t) throw new AmoReauthError('the amoCRM account is not connected');
    if (t.status === 'reauth') throw new AmoReauthError('connect the amoCRM account again');
    return t;
  }

  /** One refresh per account at a time; whoever comes while it runs gets its result. */
  function refresh(memberId: string, staleAccess: string | null): Promise<{ origin: string; tokens: AmoTokens }> {
    let p = inFlight.get(memberId);
    if (p) return p;
    p = (async () => {
      for (let i = 0; i < 60; i++) {
        const t = await loaded(memberId);
        const now = o.clock.now();
        if (staleAccess !== null && t.tokens.accessToken !== staleAccess && t.tokens.expiresAt - now > ahead) return t;
        if (!(await o.store.leaseRefresh(memberId, now + 30_000, now))) {
          await o.clock.sleep(500);
          continue;
        }
        try {
          // read again under the lease: another process may have rotated the pair since we read it
          // (then its refresh token is spent, and using it would revoke the grant)
          const cur = await loaded(memberId);
          if (cur.tokens.refreshToken !== t.tokens.refreshToken && cur.tokens.expiresAt - o.clock.now() > ahead) return cur;
          const fresh = await refreshTokens(o.oauth, cur.origin, cur.tokens.refreshToken, o.clock.now(), fetchImpl);
          gateway.refreshes++;
          await o.store.saveTokens(memberId, fresh, cur.tokens.refreshToken);
          return { origin: cur.origin, tokens: fresh };
        } catch (e) {
          if (e instanceof AmoReauthError) await o.store.setStatus(memberId, 'reauth', e.reason);
          throw e;
        } finally {
          await o.store.releaseRefresh(memberId);
        }
      }
      throw new AmoApiError(0, 'REFRESH_BUSY', 'another process kept the token refresh for too long');
    })().finally(() => inFlight.delete(memberId));
    inFlight.set(memberId, p);
    return p;
  }

  async function current(memberId: string) {
    const t = await loaded(memberId);
    return t.tokens.expiresAt - o.clock.now() > ahead ? t : refresh(memberId, t.tokens.accessToken);
  }

  function client(memberId: string): AmoClient {
    async function request<T>(method: string, path: string, query: Record<string, string | number | Array<string | number>> | undefined, body: unknown): Promise<T | null> {
      const qs = new URLSearchParams();
      for (const [k, v] of Object.entries(query ?? {})) for (const x of Array.isArray(v) ? v : [v]) qs.append(k, String(x));
      let refreshed = false;
      for (let attempt = 0; ; attempt++) {
        const t = await current(memberId);
        const l = pacer(t.origin);
        await l.acquire();
        let r: Response;
        try {
          r = await fetchImpl(`${t.origin}${path}${qs.size ? `?${qs}` : ''}`, {
            method,
            headers: { authorization: `Bearer ${t.tokens.accessToken}`, accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
            body: body === undefined ? undefined : JSON.stringify(body),
            signal: AbortSignal.timeout(20_000),
          });
        } catch (e) {
          throw new AmoApiError(0, 'UNREACHABLE', (e as Error).message);
        }
        if (r.status !== 429) l.succeeded();
        if (r.status === 204) return null;
        const text = await r.text();
        let json: Record<string, unknown> = {};
        try {
          json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
        } catch {
          json = {};
        }
        if (r.ok) return json as T;
        const detail = String(json.detail ?? json.title ?? `HTTP ${r.status}`);
        if (r.status === 401 && !refreshed) {
          refreshed = true;
          await refresh(memberId, t.tokens.accessToken);
          continue;
        }
        if (r.status === 401) {
          await o.store.setStatus(memberId, 'reauth', detail);
          throw new AmoReauthError(detail);
        }
        const blocked = r.status === 403 && /\bIP\b/i.test(detail);
        if ((r.status === 429 || blocked) && attempt < MAX_RETRIES) {
          l.throttled();
          if (blocked) await o.clock.sleep(backoffDelay({ baseMs: 5000, capMs: 60_000 }, attempt));
          continue;
        }
        throw new AmoApiError(r.status, blocked ? 'IP_BLOCKED' : String(json.title ?? 'ERROR'), detail);
      }
    }
    return {
      get: (path, query) => request('GET', path, query, undefined),
      send: (method, path, body) => request(method, path, undefined, body),
      async refreshNow() {
        const t = await loaded(memberId);
        await refresh(memberId, t.tokens.accessToken);
      },
    };
  }

  return {
    client,
    get refreshes() {
      return gateway.refreshes;
    },
  };
}
