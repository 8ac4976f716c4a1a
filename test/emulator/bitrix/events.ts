/**
 * Outgoing event delivery as Bitrix's queue does it (docs/facts/bitrix24.md#event-delivery; rest/lib/event/sender.php):
 * the portal only *queues* an event (Sender::call stamps `ts` then; the send runs as a background
 * job after the request's answer), and the cloud queue POSTs it later — one POST per handler,
 * `application/x-www-form-urlencoded` with PHP-style brackets (http_build_query), keys `event,
 * event_handler_id, data, ts, auth`; at most once, never retried.
 *
 * So here every delivery waits a delay on the emulator's clock (default 0.5–2.5 s), in queue order
 * unless `reorder` lets deliveries overtake each other (each draws its own delay); a handler that
 * answers slowly gets its deliveries spaced out (throttled); at most 8 POSTs per handler at a time. Test switches:
 * `dropRate` / `drop()` lose deliveries (recorded as `dropped`), `hold()` + `release(order)` let a
 * test decide the order. Every attempt is recorded; `idle()` waits for what is queued (not held).
 */
import qs from 'qs';
import type { Clock } from '../../../server/domain/clock';
import { isRecord, type Params } from './php';
import type { DeliveryRecord } from './types';

/** http_build_query value rules: true → 1, false → 0, null skipped, empty arrays vanish. */
function phpScalars(v: unknown): unknown {
  if (v === true) return '1';
  if (v === false) return '0';
  if (typeof v === 'number') return String(v);
  if (Array.isArray(v)) return v.map(phpScalars);
  if (isRecord(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, phpScalars(x)]));
  return v;
}

export function formEncode(payload: Params): string {
  return qs.stringify(phpScalars(payload), { arrayFormat: 'indices', format: 'RFC1738', skipNulls: true });
}

export interface Delivery {
  event: string;
  handlerId: number;
  url: string;
  auth: Params;
  data: unknown;
  ts: number;
}

export interface EventQueueOptions {
  /** delay of each delivery on the emulator's clock, ms: fixed or drawn from [min, max]; default [500, 2500] */
  delayMs?: number | readonly [number, number];
  /** deliveries draw independent delays and may overtake each other; default false (queue order) */
  reorder?: boolean;
  /** share of deliveries lost at random (0…1); default 0 */
  dropRate?: number;
  /** seed of the draws (delays, drops); default 1 */
  seed?: number;
}

/** Test controls of a portal's event queue. */
export interface EventQueueControl {
  configure(o: EventQueueOptions): void;
  /** the next `times` deliveries (of `events`, if given) are lost: at most once, no retry (docs/facts/bitrix24.md#event-delivery) */
  drop(times: number, events?: readonly string[]): void;
  /** deliveries from now on wait until `release` */
  hold(): void;
  /** sends the held deliveries, in queue order, reversed, or shuffled (by the seed), then stops holding */
  release(order?: 'queue' | 'reverse' | 'shuffle'): Promise<void>;
  /** deliveries waiting for their delay or being sent (not held ones) */
  pending(): number;
  /** resolves once every queued delivery (not held ones) has been sent */
  idle(): Promise<void>;
}

const TIMEOUT_MS = 10_000;
const DEFAULT_DELAY: readonly [number, number] = [500, 2500];
const SLOW_HANDLER_MS = 2000;
const PARALLEL_PER_HANDLER = 8;
const MAX_GAP_MS = 60_000;

async function post(url: string, body: string): Promise<Pick<DeliveryRecord, 'status' | 'body'>> {
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': 'Bitrix24 Webhook Engine' },
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    const text = await res.text();
    return { status: res.status, body: text.slice(0, 4000) };
  } catch {
    return { status: 'network-error', body: '' };
  }
}

/** mulberry32: small, seeded, good enough for test draws. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Held {
  d: Delivery;
  done: () => void;
}

export class EventDispatcher implements EventQueueControl {
  private readonly pendingRuns = new Set<Promise<void>>();
  private opts: Required<Omit<EventQueueOptions, 'seed'>> = { delayMs: DEFAULT_DELAY, reorder: false, dropRate: 0 };
  private random = rng(1);
  /** due time of the last queued delivery: in queue order, none is sent before it */
  private lastDue = 0;
  private drops: Array<{ remaining: number; events: readonly string[] | null }> = [];
  private held: Held[] | null = null;

  constructor(
    private readonly log: DeliveryRecord[],
    private readonly clock: Clock,
    o: EventQueueOptions = {},
  ) {
    this.configure(o);
  }

  configure(o: EventQueueOptions): void {
    this.opts = {
      delayMs: o.delayMs ?? this.opts.delayMs,
      reorder: o.reorder ?? this.opts.reorder,
      dropRate: o.dropRate ?? this.opts.dropRate,
    };
    if (o.seed !== undefined) this.random = rng(o.seed);
  }

  drop(times: number, events?: readonly string[]): void {
    this.drops.push({ remaining: times, events: events ? events.map((e) => e.toUpperCase()) : null });
  }

  hold(): void {
    this.held ??= [];
  }

  async release(order: 'queue' | 'reverse' | 'shuffle' = 'queue'): Promise<void> {
    const held = this.held ?? [];
    this.held = null;
    if (order === 'reverse') held.reverse();
    if (order === 'shuffle') {
      for (let i = held.length - 1; i > 0; i--) {
        const j = Math.floor(this.random() * (i + 1));
        [held[i], held[j]] = [held[j]!, held[i]!];
      }
    }
    // one after the other, each POST answered before the next starts: the order is the one asked for
    for (const h of held) {
      await this.deliver(h.d);
      h.done();
    }
  }

  pending(): number {
    return this.pendingRuns.size;
  }

  private delay(): number {
    const d = this.opts.delayMs;
    if (typeof d === 'number') return Math.max(0, d);
    const [min, max] = d;
    return Math.max(0, min + this.random() * (max - min));
  }

  private dropped(d: Delivery): boolean {
    const rule = this.drops.find((r) => r.remaining > 0 && (!r.events || r.events.includes(d.event)));
    if (rule) {
      rule.remaining--;
      return true;
    }
    return this.opts.dropRate > 0 && this.random() < this.opts.dropRate;
  }

  /**
   * The queue slows down for a slow handler (REST docs, events/index.md: «если обработчик отвечает
   * медленно, сервер снижает частоту вызовов»): after an answer slower than SLOW_HANDLER_MS on the
   * clock, deliveries to that URL keep a gap (doubling, up to a minute); fast answers shrink it.
   */
  private readonly throttle = new Map<string, { gapMs: number; nextAt: number }>();
  /** POSTs in flight per handler URL, and who waits for one to end (a burst is not sent all at once) */
  private readonly slots = new Map<string, { active: number; waiting: Array<() => void> }>();

  private async slot(url: string): Promise<void> {
    let s = this.slots.get(url);
    if (!s) this.slots.set(url, (s = { active: 0, waiting: [] }));
    if (s.active >= PARALLEL_PER_HANDLER) await new Promise<void>((go) => s.waiting.push(go));
    else s.active++;
  }

  private releaseSlot(url: string): void {
    const s = this.slots.get(url)!;
    const next = s.waiting.shift();
    if (next) next(); // the slot passes on
    else s.active--;
  }

  private async deliver(d: Delivery): Promise<void> {
    if (this.dropped(d)) {
      this.log.push({ event: d.event, url: d.url, status: 'dropped', body: '' });
      return;
    }
    const t = this.throttle.get(d.url);
    if (t && t.gapMs > 0) {
      const at = Math.max(this.clock.now(), t.nextAt);
      t.nextAt = at + t.gapMs; // reserved in order: the next one waits behind this one
      if (at > this.clock.now()) await this.clock.sleep(at - this.clock.now());
    }
    const body = formEncode({ event: d.event, event_handler_id: d.handlerId, data: d.data, ts: d.ts, auth: d.auth });
    await this.slot(d.url);
    const started = this.clock.now();
    let outcome: Pick<DeliveryRecord, 'status' | 'body'>;
    try {
      outcome = await post(d.url, body);
    } finally {
      this.releaseSlot(d.url);
    }
    const took = this.clock.now() - started;
    const cur = this.throttle.get(d.url) ?? { gapMs: 0, nextAt: 0 };
    cur.gapMs = took > SLOW_HANDLER_MS ? Math.min(MAX_GAP_MS, Math.max(cur.gapMs * 2, took)) : cur.gapMs < 100 ? 0 : cur.gapMs / 2;
    this.throttle.set(d.url, cur);
    this.log.push({ event: d.event, url: d.url, ...outcome });
  }

  /** Queues the deliveries; resolves when each was sent (or lost — no retries). Held ones resolve on release. */
  send(deliveries: readonly Delivery[]): Promise<void> {
    if (this.held) {
      const held = this.held;
      return Promise.all(deliveries.map((d) => new Promise<void>((done) => held.push({ d, done })))).then(() => undefined);
    }
    const now = this.clock.now();
    const run = Promise.all(
      deliveries.map(async (d) => {
        let due = now + this.delay();
        if (!this.opts.reorder) due = this.lastDue = Math.max(due, this.lastDue);
        if (due > now) await this.clock.sleep(due - now);
        await this.deliver(d);
      }),
    ).then(() => undefined);
    this.pendingRuns.add(run);
    void run.finally(() => this.pendingRuns.delete(run));
    return run;
  }

  async idle(): Promise<void> {
    while (this.pendingRuns.size > 0) await Promise.all([...this.pendingRuns]);
  }
}
