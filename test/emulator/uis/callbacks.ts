/**
 * Callback delivery (Chat API §"Обратные вызовы"): JSON to `{webhook_url}{path}`, with
 * `Authorization: Bearer <token>` or `Basic base64(login:password)` from `webhook_auth` (legacy
 * `webhook_token` → Bearer), plus `webhook_kwargs.headers`; `webhook_kwargs.timeout` (seconds) bounds
 * the wait. Success is 200 or 204 — the docs' "Ожидаемый код ответа" — anything else is a failure.
 *
 * Retries: the docs say nothing about UIS retrying a failed callback, so by default a callback is
 * attempted ONCE (at most once). `callbackRetries` (emulator option) turns on N extra attempts with
 * exponential backoff on the clock, for tests of a retrying platform.
 *
 * Order: callbacks for one (adapter, UIS account) pair leave one at a time, in the order UIS
 * produced them (`/chat` before its `/message`). While the emulator is "down" nothing is sent:
 * callbacks are held and flushed, in order, when it comes back up.
 */
import type { AccountImpl } from './account';
import type { AdapterRec, CallbackRecord } from './types';
import type { World } from './world';

export interface Outgoing {
  path: string;
  method: 'POST' | 'PATCH' | 'DELETE';
  body: unknown;
}

export type Outcome = { ok: boolean; status: number | 'network-error' } | 'held' | 'skipped';

const DEFAULT_TIMEOUT_S = 10;

function joinUrl(base: string, path: string): string {
  return base.replace(/\/+$/, '') + path;
}

export function authorizationHeader(a: AdapterRec): string | null {
  if (a.webhookAuth?.type === 'Bearer') return `Bearer ${a.webhookAuth.token ?? ''}`;
  if (a.webhookAuth?.type === 'Basic') {
    return `Basic ${Buffer.from(`${a.webhookAuth.login ?? ''}:${a.webhookAuth.password ?? ''}`).toString('base64')}`;
  }
  if (a.webhookToken) return `Bearer ${a.webhookToken}`;
  return null;
}

export class CallbackDispatcher {
  private readonly queues = new Map<string, Promise<unknown>>();
  private readonly pending = new Map<number, Set<Promise<unknown>>>();
  private held: Array<() => void> = [];

  constructor(private readonly world: World) {}

  /** Queues one callback; resolves when it was delivered (or finally failed), or at once with 'held' while down. */
  send(account: AccountImpl, adapter: AdapterRec, cb: Outgoing): Promise<Outcome> {
    if (this.world.down) {
      this.held.push(() => void this.send(account, adapter, cb));
      return Promise.resolve('held');
    }
    const key = `${adapter.id}:${account.appId}`;
    const prev = this.queues.get(key) ?? Promise.resolve();
    const run = prev.then(() => this.deliver(account, adapter, cb));
    this.queues.set(key, run.catch(() => undefined));
    this.track(account.appId, run);
    return run;
  }

  /** Runs `fn` after `ms` of the clock; counted as in flight until it (and what it sends) is done. */
  later(account: AccountImpl, ms: number, fn: () => Promise<unknown> | void): void {
    const run = this.world.clock.sleep(ms).then(fn);
    this.track(account.appId, run);
  }

  /** Flushes callbacks held while the emulator was down (queued synchronously, in order). */
  release(): void {
    const held = this.held;
    this.held = [];
    for (const r of held) r();
  }

  heldCount(): number {
    return this.held.length;
  }

  /** the test's observer of the receiving app (UisEmulator.afterSettle) */
  afterSettle: (() => Promise<void>) | null = null;

  /** Resolves when nothing is in flight (or sleeping towards a send) for this account. */
  async settle(appId: number): Promise<void> {
    for (;;) {
      const set = this.pending.get(appId);
      if (!set || set.size === 0) break;
      await Promise.allSettled([...set]);
      await new Promise((r) => setImmediate(r));
    }
    await this.afterSettle?.();
  }

  private track(appId: number, p: Promise<unknown>): void {
    let set = this.pending.get(appId);
    if (!set) this.pending.set(appId, (set = new Set()));
    const s = set;
    s.add(p);
    void p.then(
      () => s.delete(p),
      () => s.delete(p),
    );
  }

  private async deliver(account: AccountImpl, adapter: AdapterRec, cb: Outgoing): Promise<Outcome> {
    const attempts = 1 + Math.max(0, this.world.config.callbackRetries);
    let last: Outcome = 'skipped';
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (attempt > 1) await this.world.clock.sleep(this.world.config.callbackBackoffMs * 2 ** (attempt - 2));
      // The adapter may have been edited (webhook_url, auth) or switched off since the callback was produced.
      if (adapter.status !== 'active') return 'skipped';
      const url = joinUrl(adapter.webhookUrl, cb.path);
      const authorization = authorizationHeader(adapter);
      const headers: Record<string, string> = { 'content-type': 'application/json', ...(adapter.webhookKwargs.headers ?? {}) };
      if (authorization) headers.authorization = authorization;
      const timeoutS = adapter.webhookKwargs.timeout ?? DEFAULT_TIMEOUT_S;
      let status: CallbackRecord['status'];
      try {
        // Network timeout in real time on purpose: it bounds socket I/O, not platform logic.
        const res = await fetch(url, {
          method: cb.method,
          headers,
          body: JSON.stringify(cb.body),
          redirect: 'manual',
          signal: AbortSignal.timeout(Math.max(1, timeoutS * 1000)),
        });
        await res.arrayBuffer().catch(() => undefined);
        status = res.status;
      } catch {
        status = 'network-error';
      }
      account.callbacks.push({ path: cb.path, method: cb.method, status, body: cb.body, at: this.world.clock.now(), url, authorization, attempt });
      const ok = status === 200 || status === 204;
      last = { ok, status };
      if (ok) return last;
    }
    return last;
  }
}
