/**
 * amoCRM webhooks as amoCRM sends them (crm_platform/webhooks-format; docs/facts/chat-sources.md#amocrm-talk-hook):
 * POST `application/x-www-form-urlencoded` with PHP-style bracket keys —
 * `account[id]`, `account[subdomain]`, `account[_links][self]`, then
 * `talk[update][0][talk_id]`, `…[created_at]`, `…[updated_at]`, `…[rate]`, `…[contact_id]`,
 * `…[chat_id]`, `…[entity_id]`, `…[entity_type]`, `…[is_in_work]`, `…[is_read]`, `…[origin]` —
 * every value a string ("0"/"1" for flags); «Беседа добавлена» is `talk[add][…]`, same shape.
 * Only hooks subscribed to the event (`update_talk`, `add_talk`) and not disabled get it.
 *
 * Chosen where the docs are silent (harsher): a delivery times out after 2 s; 20 failures in a
 * row disable the hook (`disabled: true` in GET /api/v4/webhooks); no retries. Switches model what
 * real traffic shows: several items in one request (`batch`), the same request twice
 * (`duplicates`), and holding deliveries to release them in queue, reverse or shuffled order.
 */
import type { AmoAccount, Talk, TalkChange, Webhook } from './model';

export interface HookDelivery {
  destination: string;
  body: string;
  status: number;
  /** the talk ids and their is_in_work in the body */
  items: Array<{ talkId: number; isInWork: boolean; kind: 'add' | 'update' }>;
}

export interface HookOptions {
  /** items per request (default 1) */
  batch: number;
  /** each request is sent this many extra times (default 0) */
  duplicates: number;
  timeoutMs: number;
  disableAfterFailures: number;
}

interface Pending {
  account: AmoAccount;
  hook: Webhook;
  changes: TalkChange[];
}

const flag = (b: boolean) => (b ? '1' : '0');

function talkFields(prefix: string, t: Talk): Array<[string, string]> {
  return [
    [`${prefix}[talk_id]`, String(t.talk_id)],
    [`${prefix}[created_at]`, String(t.created_at)],
    [`${prefix}[updated_at]`, String(t.updated_at)],
    [`${prefix}[rate]`, String(t.rate)],
    [`${prefix}[contact_id]`, String(t.contact_id)],
    [`${prefix}[chat_id]`, t.chat_id],
    [`${prefix}[entity_id]`, t.entity_id === null ? '' : String(t.entity_id)],
    [`${prefix}[entity_type]`, t.entity_type ?? ''],
    [`${prefix}[is_in_work]`, flag(t.is_in_work)],
    [`${prefix}[is_read]`, flag(t.is_read)],
    [`${prefix}[origin]`, t.origin],
  ];
}

/** The form body of one request: the account block, then each change as `talk[add|update][i]`. */
export function hookBody(account: AmoAccount, self: string, changes: TalkChange[]): string {
  const p = new URLSearchParams();
  p.append('account[id]', String(account.id));
  p.append('account[subdomain]', account.subdomain);
  p.append('account[_links][self]', self);
  const index = { add: 0, update: 0 };
  for (const c of changes) for (const [k, v] of talkFields(`talk[${c.kind}][${index[c.kind]++}]`, c.talk)) p.append(k, v);
  return p.toString();
}

export class HookSender {
  readonly deliveries: HookDelivery[] = [];
  readonly options: HookOptions = { batch: 1, duplicates: 0, timeoutMs: 2000, disableAfterFailures: 20 };
  private queue: Pending[] = [];
  private held = false;
  private inFlight = new Set<Promise<void>>();

  constructor(private readonly selfOf: (a: AmoAccount) => string) {}

  /** A talk changed: queue it for every hook subscribed to the event. */
  changed(account: AmoAccount, change: TalkChange): void {
    const event = change.kind === 'add' ? 'add_talk' : 'update_talk';
    const snapshot: TalkChange = { kind: change.kind, talk: { ...change.talk } };
    for (const hook of account.webhooks) {
      if (hook.disabled || !hook.settings.includes(event)) continue;
      const last = this.queue.at(-1);
      if (last && last.hook === hook && last.changes.length < this.options.batch) last.changes.push(snapshot);
      else this.queue.push({ account, hook, changes: [snapshot] });
    }
    if (!this.held) this.pump();
  }

  hold(): void {
    this.held = true;
  }

  /** Send what was held, in queue order, reversed or shuffled. */
  release(order: 'queue' | 'reverse' | 'shuffle' = 'queue'): void {
    this.held = false;
    if (order === 'reverse') this.queue.reverse();
    if (order === 'shuffle') {
      for (let i = this.queue.length - 1; i > 0; i--) {
        const j = Math.floor(Math.random() * (i + 1));
        [this.queue[i], this.queue[j]] = [this.queue[j]!, this.queue[i]!];
      }
    }
    this.pump();
  }

  private pump(): void {
    const batch = this.queue;
    this.queue = [];
    for (const p of batch) {
      for (let n = 0; n <= this.options.duplicates; n++) {
        const run = this.send(p).finally(() => this.inFlight.delete(run));
        this.inFlight.add(run);
      }
    }
  }

  private async send(p: Pending): Promise<void> {
    await new Promise((r) => setImmediate(r));
    const body = hookBody(p.account, this.selfOf(p.account), p.changes);
    let status = 0;
    try {
      const r = await fetch(p.hook.destination, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body,
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      status = r.status;
      await r.arrayBuffer();
    } catch {
      status = 0;
    }
    const ok = status >= 200 && status < 300;
    p.hook.failures = ok ? 0 : p.hook.failures + 1;
    if (p.hook.failures >= this.options.disableAfterFailures) p.hook.disabled = true;
    this.deliveries.push({ destination: p.hook.destination, body, status, items: p.changes.map((c) => ({ talkId: c.talk.talk_id, isInWork: c.talk.is_in_work, kind: c.kind })) });
  }

  /** Resolves when nothing is queued (unless held) and nothing is in flight. */
  async settle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }
}
