/**
 * Open Lines bridge benchmark (issue #3, `npm run bench`): the real server over real HTTP between
 * the emulated UIS platform and the emulated portal. Three figures:
 *  1. a burst of inbound messages relayed to one rate-limited portal, beside a naive
 *     one-call-per-message delivery through the same client (scaled clock);
 *  2. signed UIS `/message` callbacks acknowledged per second by one instance (real time);
 *  3. added latency from a callback to the portal receiving `imconnector.send.messages` (real time).
 */
import { Agent, request } from 'node:http';
import type { Clock } from '../../server/domain/clock';
import { CONNECTOR, holdings, linkAndBind, mirrored } from '../support/bridge-fixture';
import { startHarness, type Harness } from '../support/harness';
import { installLinkBind, startChildWorld } from '../support/child-world';

const realSleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface BridgeBurstResult {
  messages: number;
  chats: number;
  delivered: number;
  exactlyOnce: boolean;
  duplicates: number;
  restCalls: number;
  sendCalls: number;
  limited503: number;
  seconds: number;
  realSeconds: number;
  /** when the last visitor write returned (the emulator delivers callbacks as they are written) */
  writtenSeconds: number;
  /** the same shape of burst from new visitors, relayed from the queue (worker held while they wrote) */
  queued: { delivered: number; exactlyOnce: boolean; duplicates: number; restCalls: number; sendCalls: number; limited503: number; seconds: number; realSeconds: number };
  naive: { delivered: number; failed: number; restCalls: number; limited503: number; seconds: number; realSeconds: number };
}

/**
 * `chats` visitors each write `perChat` messages in order (visitors in parallel) through the UIS
 * emulator; measured on the shared clock until every message is in the open lines exactly once,
 * first live (relayed while written), then queued (new visitors; relayed once all are written).
 * Then, on the same portal from an empty bucket again, the same number of messages of the same
 * shape delivered one `imconnector.send.messages` call per message through the app's client.
 */
export async function benchBridgeBurst(o: { clock: Clock; chats: number; perChat: number; rateLimit: { drainPerSec: number; burst: number }; limitSeconds?: number }): Promise<BridgeBurstResult> {
  const h = await startHarness({ clock: o.clock, rateLimit: o.rateLimit, env: { LOG_LEVEL: 'warn', B24_RATE_LIMIT: `${o.rateLimit.drainPerSec}/${o.rateLimit.burst}` } });
  const emptyBucket = () => o.clock.sleep((o.rateLimit.burst / o.rateLimit.drainPerSec) * 1000 + 1000);
  const limitMs = (o.limitSeconds ?? 1200) * 1000; // on the clock
  try {
    const { acc } = await linkAndBind(h);
    await emptyBucket();
    const total = o.chats * o.perChat;

    /**
     * One pass of `total` messages from `chats` new visitors. Live: the relay runs while they write
     * (bound by how fast the emulated visitors write). Queued: the worker is held while they write,
     * then released on a full bucket; measured from the release, like the naive pass below, which
     * also starts with every message known.
     */
    const relay = async (pass: number, queued: boolean) => {
      const rest0 = h.portal.stats.requests;
      const send0 = (h.portal.stats.byMethod['imconnector.send.messages'] ?? 0) + (h.portal.stats.byMethod['batch'] ?? 0);
      const lim0 = h.portal.stats.limited503;
      const want = total * (pass + 1);
      if (queued) h.app.deps.bridgeWorker.hold();
      let start = o.clock.now();
      let realStart = performance.now();
      const writes = Promise.all(
        Array.from({ length: o.chats }, async (_, v) => {
          for (let i = 0; i < o.perChat; i++) await acc.visitorWrite({ channelType: 'whatsapp', visitor: { phone: `+791${pass ? 5 : 6}${String(1_000_000 + v).slice(1)}0` }, text: `bench p${pass} v${v} m${i}` });
        }),
      );
      let written = false;
      let writtenSeconds = NaN;
      void writes.then(() => {
        written = true;
        writtenSeconds = (o.clock.now() - start) / 1000;
      });
      if (queued) {
        await writes;
        await acc.settle();
        await emptyBucket();
        start = o.clock.now();
        realStart = performance.now();
        h.app.deps.bridgeWorker.release();
      }
      let x = holdings(h.portal, acc);
      while (o.clock.now() - start < limitMs) {
        x = holdings(h.portal, acc);
        if (written && x.visitorMessages === want && x.b24Inbound >= want) break;
        await realSleep(20);
      }
      const seconds = (o.clock.now() - start) / 1000;
      const realSeconds = (performance.now() - realStart) / 1000;
      await writes;
      await acc.settle();
      await h.app.deps.bridgeWorker.drain();
      x = holdings(h.portal, acc);
      const exactlyOnce = x.visitorMessages === want && x.b24Chats === x.uisChats && x.inbound.every((c) => c.uis.length === c.b24.length && c.uis.every((id, i) => id === c.b24[i]));
      const unique = new Set(x.inbound.flatMap((c) => c.b24)).size;
      return {
        exactlyOnce,
        seconds,
        realSeconds,
        writtenSeconds: queued ? NaN : writtenSeconds,
        delivered: unique - pass * total,
        duplicates: x.b24Inbound - unique,
        restCalls: h.portal.stats.requests - rest0,
        sendCalls: (h.portal.stats.byMethod['imconnector.send.messages'] ?? 0) + (h.portal.stats.byMethod['batch'] ?? 0) - send0,
        limited503: h.portal.stats.limited503 - lim0,
      };
    };
    const live = await relay(0, false);
    await emptyBucket();
    const queued = await relay(1, true);

    // --- naive: one message per call, same shape, same rate-limited client, all issued at once
    await emptyBucket();
    const client = h.app.deps.gateway.client(h.portal.memberId);
    const nRest0 = h.portal.stats.requests;
    const nLim0 = h.portal.stats.limited503;
    const nStart = o.clock.now();
    const nRealStart = performance.now();
    const date = Math.floor(o.clock.now() / 1000);
    const results = await Promise.allSettled(
      Array.from({ length: total }, (_, n) => {
        const v = n % o.chats;
        const phone = `+7917${String(1_000_000 + v).slice(1)}0`;
        return client.call('imconnector.send.messages', {
          CONNECTOR,
          LINE: '1',
          MESSAGES: [{ user: { id: `naive_v${v}`, phone, name: phone }, message: { id: String(900_000_000 + n), date, text: `naive v${v} m${Math.floor(n / o.chats)}` }, chat: { id: `naive_c${v}` } }],
        });
      }),
    );
    const naive = {
      seconds: (o.clock.now() - nStart) / 1000,
      realSeconds: (performance.now() - nRealStart) / 1000,
      failed: results.filter((r) => r.status === 'rejected').length,
      restCalls: h.portal.stats.requests - nRest0,
      limited503: h.portal.stats.limited503 - nLim0,
      delivered: h.portal.openLines
        .chats()
        .filter((c) => c.externalChatId.startsWith('naive_c'))
        .reduce((n, c) => n + c.messages.filter((m) => m.direction === 'in').length, 0),
    };
    return { messages: total, chats: o.chats, ...live, queued, naive };
  } finally {
    await h.portal.drainEvents();
    await h.close();
  }
}

export interface WebhookRateResult {
  sent: number;
  ok: number;
  other: number;
  seconds: number;
  perSecond: number;
  concurrency: number;
}

/** A linked, bound portal with `chats` UIS chats the bridge already knows (mapped in Bitrix24). */
async function knownChats(h: Harness, chats: number) {
  const { acc, channelId } = await linkAndBind(h);
  const ids: number[] = [];
  for (let v = 0; v < chats; v++) ids.push((await acc.visitorWrite({ channelType: 'whatsapp', visitor: { phone: `+7918${String(1_000_000 + v).slice(1)}0` }, text: `hello ${v}` })).chatId);
  const mapped = async () => (await Promise.all(ids.map((id) => h.app.deps.bridge.chat(h.portal.memberId, String(id))))).every((c) => c?.b24ChatId);
  for (let i = 0; i < 200 && !(await mapped()); i++) {
    await acc.settle();
    await h.app.deps.bridgeWorker.drain();
    await realSleep(20);
  }
  const link = (await h.app.deps.links.get(h.portal.memberId))!;
  const hook = new URL(`${h.app.url}/uis/callbacks/${link.hookId}/message`);
  const maxId = Math.max(...acc.chats().flatMap((c) => c.messages.map((m) => m.id)));
  const body = (chatId: number, id: number, text: string) =>
    JSON.stringify({ account_id: Number(link.connectionId), channel_id: Number(channelId), chat_id: chatId, id, source: 'visitor', text, created_at: '2026-08-21 09:00:00.123456', status: 'sent', resource: null });
  return { acc, ids, hook, secret: link.webhookSecret, firstId: maxId + 1_000_000, body };
}

/**
 * `count` signed `/message` callbacks POSTed by `concurrency` keep-alive connections from this
 * process to our `/uis/callbacks/<hook>/message` (loopback). Client and server share one process
 * and one event loop, so the figure is a lower bound for the server alone.
 */
export async function benchWebhookRate(o: { count: number; concurrency: number; chats: number }): Promise<WebhookRateResult> {
  const h = await startHarness({ env: { LOG_LEVEL: 'warn' } });
  try {
    const k = await knownChats(h, o.chats);
    // warm-up bodies get negative n: ids below the measured ones, never repeated
    const body = (n: number) => k.body(k.ids[Math.abs(n) % k.ids.length]!, k.firstId + o.concurrency + n, n < 0 ? `warm ${-n}` : `rate ${n}`);
    return await hammer({ hook: k.hook, secret: k.secret, count: o.count, concurrency: o.concurrency, body });
  } finally {
    h.app.deps.bridgeWorker.stop();
    await h.close();
  }
}

/** POSTs `count` bodies with `concurrency` keep-alive connections; counts 2xx answers per second. */
async function hammer(o: { hook: URL; secret: string; count: number; concurrency: number; body: (n: number) => string }): Promise<WebhookRateResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: o.concurrency });
  const post = (payload: string) =>
    new Promise<number>((resolve, reject) => {
      const req = request(
        o.hook,
        { method: 'POST', agent, headers: { authorization: `Bearer ${o.secret}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  try {
    // warm-up: open the connections, JIT the path
    await Promise.all(Array.from({ length: o.concurrency }, (_, i) => post(o.body(-1 - i))));
    let next = 0;
    let ok = 0;
    let other = 0;
    const start = performance.now();
    await Promise.all(
      Array.from({ length: o.concurrency }, async () => {
        for (let n = next++; n < o.count; n = next++) {
          const status = await post(o.body(n)).catch(() => 0);
          if (status >= 200 && status < 300) ok++;
          else other++;
        }
      }),
    );
    const seconds = (performance.now() - start) / 1000;
    return { sent: o.count, ok, other, seconds, perSecond: ok / seconds, concurrency: o.concurrency };
  } finally {
    agent.destroy();
  }
}

/**
 * The same signed `/message` callbacks, but the app runs alone in a child process (as in
 * production): the load generator and both emulators (which also receive the relayed messages)
 * share the other process. This is the instance's own figure.
 */
export async function benchWebhookRateChild(o: { count: number; concurrency: number; chats: number; execArgv?: string[] }): Promise<WebhookRateResult> {
  const x = await startChildWorld({ callbackRetries: 0, logLevel: 'warn', execArgv: o.execArgv });
  try {
    const { channelId } = await installLinkBind(x);
    const ids: number[] = [];
    for (let v = 0; v < o.chats; v++) ids.push((await x.acc.visitorWrite({ channelType: 'whatsapp', visitor: { phone: `+7918${String(1_000_000 + v).slice(1)}0` }, text: `hello ${v}` })).chatId);
    for (let i = 0; i < 400 && !mirrored(holdings(x.portal, x.acc)); i++) {
      await x.acc.settle();
      await realSleep(25);
    }
    const adapter = x.acc.adapter()!;
    const auth = adapter.webhookAuth as { token?: string };
    const hook = new URL(`${adapter.webhookUrl.replace(/\/$/, '')}/message`);
    const accountId = x.acc.connection()!.id;
    const firstId = Math.max(...x.acc.chats().flatMap((c) => c.messages.map((m) => m.id))) + 1_000_000;
    const body = (n: number) =>
      JSON.stringify({ account_id: accountId, channel_id: Number(channelId), chat_id: ids[Math.abs(n) % ids.length], id: firstId + o.count + n + 100, source: 'visitor', text: `rate ${n}`, created_at: '2026-08-21 09:00:00.123456', status: 'sent', resource: null });
    return await hammer({ hook, secret: auth.token ?? '', count: o.count, concurrency: o.concurrency, body });
  } finally {
    // SIGTERM first: a child started with --cpu-prof writes its profile on a clean exit only
    if (o.execArgv?.includes('--cpu-prof')) await x.proc?.kill('SIGTERM');
    await x.close();
  }
}

export interface LatencyResult {
  samples: number;
  missed: number;
  ackP50: number;
  ackP99: number;
  p50: number;
  p99: number;
  max: number;
}

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]! : NaN;
};

/**
 * On an idle portal (real clock, default bucket 2 req/s: a pause of ≥ 500 ms keeps the limiter
 * out of the figure), one signed `/message` callback at a time
 * with pauses: from just before the POST to the moment the app's outbound fetch sends the
 * `imconnector.send.messages` (or `batch`) request that carries the message.
 */
export async function benchBridgeLatency(o: { samples: number; pauseMs: number }): Promise<LatencyResult> {
  const seen = new Map<string, number>();
  const stamping: typeof fetch = async (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    if (/\/rest\/(batch|imconnector\.send\.messages)$/.test(url) && typeof init?.body === 'string') {
      const t = performance.now();
      for (const m of init.body.matchAll(/lat-mark-(\d+)/g)) if (!seen.has(m[1]!)) seen.set(m[1]!, t);
    }
    return fetch(input, init);
  };
  const h = await startHarness({ env: { LOG_LEVEL: 'warn' }, fetch: stamping });
  try {
    const k = await knownChats(h, 1);
    await h.app.deps.bridgeWorker.drain();
    const added: number[] = [];
    const acks: number[] = [];
    let missed = 0;
    for (let i = 0; i < o.samples; i++) {
      const payload = k.body(k.ids[0]!, k.firstId + i, `lat-mark-${i}`);
      const t0 = performance.now();
      const res = await fetch(k.hook, { method: 'POST', headers: { authorization: `Bearer ${k.secret}`, 'content-type': 'application/json' }, body: payload });
      acks.push(performance.now() - t0);
      await res.arrayBuffer();
      const key = String(i);
      for (let w = 0; w < 2000 && !seen.has(key); w++) await realSleep(1);
      const t1 = seen.get(key);
      if (t1 === undefined) missed++;
      else added.push(t1 - t0);
      await h.app.deps.bridgeWorker.drain();
      await realSleep(o.pauseMs);
    }
    return { samples: added.length, missed, ackP50: quantile(acks, 0.5), ackP99: quantile(acks, 0.99), p50: quantile(added, 0.5), p99: quantile(added, 0.99), max: Math.max(...added) };
  } finally {
    await h.close();
  }
}
