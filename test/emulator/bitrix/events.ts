/**
 * Outgoing event delivery as Bitrix's queue does it (bitrix24-rest.md §8): one POST per handler,
 * `application/x-www-form-urlencoded` with PHP-style brackets (http_build_query), keys
 * `event, event_handler_id, data, ts, auth`; asynchronous, at most once, never retried.
 * Every attempt is recorded; `idle()` lets tests wait for deliveries started by REST calls.
 */
import qs from 'qs';
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

const TIMEOUT_MS = 10_000;

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

export class EventDispatcher {
  private readonly pending = new Set<Promise<void>>();

  constructor(private readonly log: DeliveryRecord[]) {}

  /** Resolves when every POST of this call has completed (or failed — no retries). */
  send(deliveries: readonly Delivery[]): Promise<void> {
    const run = Promise.all(
      deliveries.map(async (d) => {
        const body = formEncode({ event: d.event, event_handler_id: d.handlerId, data: d.data, ts: d.ts, auth: d.auth });
        const outcome = await post(d.url, body);
        this.log.push({ event: d.event, url: d.url, ...outcome });
      }),
    ).then(() => undefined);
    this.pending.add(run);
    void run.finally(() => this.pending.delete(run));
    return run;
  }

  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }
}
