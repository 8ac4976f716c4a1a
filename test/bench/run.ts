import { cpus, loadavg } from 'node:os';
import { scaledClock, systemClock } from '../../server/domain/clock';
import { benchAnalytics } from './analytics';
import { benchBridgeBurst, benchBridgeLatency, benchWebhookRate, benchWebhookRateChild } from './bridge';
import { benchRestPacing } from './rest-pacing';
import { benchClickToCall } from './click-to-call';
import { benchCrm } from './crm';
import { benchAmo, benchJivo } from './sources';
import { benchWorkspace } from './workspace';
import { benchTelephonyBurst, benchTelephonyLatency } from './telephony';
import { benchManager, benchManagerChild } from './manager';
import { benchScaleBurst, benchScaleMemory, benchScaleRates, compileEntry } from './scale';
import { benchPgIntake } from './pg-intake';
import { benchIntakeCost } from './intake-cost';

/**
 * `npm run bench` — prints figures; asserts nothing (the goals are printed beside them).
 *   npm run bench [-- --only pacing|analytics|workspace|bridge|crm|telephony|manager] [-- --real | --scale 20]
 *   npm run bench -- --only bridge --cpu-prof /tmp/prof   (CPU profile of the app in the child-process webhook run)
 *   npm run bench -- --only intake-cost [-- --count N]   (issue #12: WAL pages and CPU per UIS callback on SQLite, statements per callback on PostgreSQL)
 *   npm run bench -- --only pg-intake [-- --count N] [-- --instances 1]   (issue #12: UIS callbacks acknowledged through the PostgreSQL
 *     callback inbox by 1 and 2 instances beside bare Node; TEST_DATABASE_URL or BENCH_DATABASE_URL picks the server)
 *   npm run bench -- --only scale [-- --small] [-- --cpu-prof /tmp/prof]   (issue #12: instances on one SQLite file beside bare Node;
 *     --small: a quick check of the bench itself; --count N: callbacks per rate run; --instances N: rate runs with 1..N instances (default 3); --rounds R: each rate run as R rounds interleaved with bare Node's (default 5); --cpu-prof: profiles of the instances in the
 *     callback-rate runs; --node-flags "…": node flags of the memory run's instance)
 * Time-bound benches run on a clock shared by the emulator and the app (×10 by default), which
 * models the same bucket 10× faster; `--real` runs them in real time.
 */
const args = process.argv.slice(2);
const arg = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const scale = args.includes('--real') ? 1 : Number(arg('--scale') ?? 10);
const only = arg('--only');
const cpuProf = arg('--cpu-prof');
const pct = (x: number) => `${(x * 100).toFixed(1)} %`;

const BENCHES: Record<string, () => Promise<void>> = {
  async pacing() {
    const clock = scale === 1 ? systemClock : scaledClock(scale);
    const p = await benchRestPacing({ clock, calls: 1000, rateLimit: { drainPerSec: 2, burst: 50 } });
    console.log(`REST pacing: 1,000 calls through one portal client, bucket 2 req/s, burst 50 (clock ×${scale}${scale === 1 ? '' : ', emulated seconds'})`);
    console.log(`  calls completed         ${p.completed} / ${p.calls} (failed ${p.failed})`);
    console.log(`  503s provoked           ${p.limited503}   (goal 0)`);
    console.log(`  time                    ${p.virtualSeconds.toFixed(1)} s (bucket minimum ${p.minimalSeconds.toFixed(1)} s)`);
    console.log(`  share of allowed rate   ${pct(p.shareOfAllowed)}   (goal ≥ 95 %)`);
  },
  /** «Звонки по клику из CRM» (issue #14): `npm run bench -- --only click` */
  async click() {
    const c = await benchClickToCall({ samples: 100, pauseMs: 200, coldRuns: 5 });
    const line = (p: typeof c.override) => `p50 ${p.p50.toFixed(1)} / p99 ${p.p99.toFixed(1)} / max ${p.max.toFixed(1)} ms   (goal p99 ≤ 50 ms)`;
    console.log('Click-to-call: the employee clicks a number on the emulated portal → start.employee_call leaves the app, idle portal (real time, one at a time; includes the emulated register and event delivery)');
    console.log(`  «Переопределять АОН» on       ${line(c.override)}`);
    console.log(`  off, SIP lines cached         ${line(c.sipCached)}`);
    console.log(`  off, a portal's first click   ${c.sipCold.map((x) => x.toFixed(1)).join(', ')} ms (the SIP lines read from the Data API first; ${c.samples} samples, ${c.missed} missed)`);
  },
  async analytics() {
    const a = await benchAnalytics(500);
    console.log('End-to-end analytics: 500 open-line lead events in a burst (real time)');
    console.log(`  chats uploaded          ${a.uploaded} / ${a.leads}`);
    console.log(`  REST calls per lead     ${(a.restCalls / a.leads).toFixed(3)}   (${a.restCalls} calls; goal ≤ 0.1)`);
    console.log(`  upload.chats per lead   ${(a.uploadCalls / a.leads).toFixed(3)}   (${a.uploadCalls} calls; goal ≤ 0.03)`);
    console.log(`  503s provoked           ${a.limited503}   (goal 0)`);
    console.log(`  time until all uploaded ${a.seconds.toFixed(1)} s`);
  },
  /** «Источники чатов» (issue #15): `npm run bench -- --only sources` */
  async sources() {
    const j = await benchJivo(1000);
    console.log('Chat sources, Jivo: 1,000 chat_finished webhooks in a burst (real time, loopback, keep-alive, 32 in flight)');
    console.log(`  acknowledged            ${j.acknowledged} / ${j.chats} in ${j.ackSeconds.toFixed(2)} s — ${(j.acknowledged / j.ackSeconds).toFixed(0)} per second   (a lower bound: the app, both emulators, the uploads and the generator share one event loop)`);
    console.log(`  chats uploaded          ${j.uploaded} / ${j.chats} in ${j.uploadSeconds.toFixed(1)} s`);
    console.log(`  upload.chats per chat   ${(j.uploadCalls / j.chats).toFixed(3)}   (${j.uploadCalls} calls; goal ≤ 0.03)`);
    // real time: amoCRM counts requests per second as they arrive, and a faster clock would turn
    // the event loop's jitter into bunched arrivals the real service would never see
    const a = await benchAmo({ talks: 500, spreadMs: 60_000, clock: systemClock });
    console.log('Chat sources, amoCRM: 500 talks closing within a minute (read, then closed: two «Беседа изменена» each), 7 req/s limit (real time)');
    console.log(`  requests uploaded       ${a.uploaded} / ${a.talks}${a.settled ? '' : '   NOT SETTLED: the wait hit its cap'}; time until all uploaded ${a.seconds.toFixed(1)} s from the first close`);
    console.log(`  amoCRM calls per talk   ${(a.apiCalls / a.talks).toFixed(3)}   (${a.apiCalls} calls: ${Object.entries(a.byPath).map(([k, v]) => `${k} ${v}`).join(', ')}; goal ≤ 1.5)`);
    console.log(`  429s provoked           ${a.limited429}   (goal 0)`);
  },
  async bridge() {
    const clock = scale === 1 ? systemClock : scaledClock(scale);
    const b = await benchBridgeBurst({ clock, chats: 50, perChat: 20, rateLimit: { drainPerSec: 2, burst: 50 } });
    const unit = scale === 1 ? 's' : `emulated s; clock ×${scale}`;
    console.log(`Open Lines bridge: 1,000 visitor messages over 50 UIS chats → one portal, bucket 2 req/s, burst 50 (clock ×${scale}${scale === 1 ? '' : ', shared by the app and both emulators; emulated seconds'})`);
    console.log(`  live: relayed while the visitors write`);
    console.log(`    in the open lines     ${b.delivered} / ${b.messages} (${b.exactlyOnce ? 'each exactly once, in order' : 'NOT exactly once / in order'}; duplicates ${b.duplicates})`);
    console.log(`    time until all relayed ${b.seconds.toFixed(1)} s   (${unit}; ${b.realSeconds.toFixed(1)} s real; visitors done writing at ${b.writtenSeconds.toFixed(1)} s, relay done ${(b.seconds - b.writtenSeconds).toFixed(1)} s later)`);
    console.log(`    REST calls            ${b.restCalls}   (${b.sendCalls} imconnector.send.messages/batch); 503s provoked ${b.limited503} (goal 0)`);
    console.log(`  queued: 50 new visitors write the same burst while the relay is held, then it is released`);
    console.log(`    in the open lines     ${b.queued.delivered} / ${b.messages} (${b.queued.exactlyOnce ? 'all passes each exactly once, in order' : 'NOT exactly once / in order'}; duplicates ${b.queued.duplicates})`);
    console.log(`    time until all relayed ${b.queued.seconds.toFixed(1)} s   (${unit}; ${b.queued.realSeconds.toFixed(1)} s real)`);
    console.log(`    REST calls            ${b.queued.restCalls}   (${b.queued.sendCalls} imconnector.send.messages/batch); 503s provoked ${b.queued.limited503} (goal 0)`);
    console.log(`  naive, 1 call/message   ${b.naive.seconds.toFixed(1)} s   (${unit}; ${b.naive.realSeconds.toFixed(1)} s real; ${b.naive.restCalls} calls, ${b.naive.delivered} delivered, ${b.naive.failed} failed, ${b.naive.limited503} 503s)`);
    console.log(`  speed-up over naive     ${(b.naive.seconds / b.queued.seconds).toFixed(1)}× from the queue (goal ≥ 25×; both start with every message known); ${(b.naive.seconds / b.seconds).toFixed(1)}× live (bound by the emulated visitors' writing, stretched ×${scale} on this clock)`);
    const w = await benchWebhookRate({ count: 5000, concurrency: 32, chats: 50 });
    console.log(`Signed UIS /message callbacks → one instance (real time, loopback, keep-alive, ${w.concurrency} in flight; load generator in the same process)`);
    console.log(`  acknowledged (2xx)      ${w.ok} / ${w.sent} (other ${w.other}) in ${w.seconds.toFixed(2)} s`);
    console.log(`  per second              ${w.perSecond.toFixed(0)}   (a lower bound: app, emulators and generator share one event loop)`);
    const wc = await benchWebhookRateChild({ count: 10000, concurrency: 32, chats: 50, execArgv: cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${cpuProf}`] : undefined });
    console.log(`Signed UIS /message callbacks → one instance in its own process (real time, loopback, keep-alive, ${wc.concurrency} in flight; generator and emulators in the other process)`);
    console.log(`  acknowledged (2xx)      ${wc.ok} / ${wc.sent} (other ${wc.other}) in ${wc.seconds.toFixed(2)} s`);
    console.log(`  per second              ${wc.perSecond.toFixed(0)}   (goal ≥ 3,000)`);
    const l = await benchBridgeLatency({ samples: 100, pauseMs: 500 });
    console.log('Added latency: callback POST → imconnector.send.messages leaves the app, idle portal (real time, one at a time, 500 ms apart)');
    console.log(`  p50 / p99 / max         ${l.p50.toFixed(1)} / ${l.p99.toFixed(1)} / ${l.max.toFixed(1)} ms   (goal p99 ≤ 20 ms; ${l.samples} samples, ${l.missed} missed)`);
    console.log(`  of which callback ack   p50 ${l.ackP50.toFixed(1)} ms, p99 ${l.ackP99.toFixed(1)} ms; the rest is the worker's gather window (gatherMs, default 10 ms) and its run`);
  },
  async crm() {
    const clock = scale === 1 ? systemClock : scaledClock(scale);
    const c = await benchCrm({ clock, chats: 100, rateLimit: { drainPerSec: 2, burst: 50 } });
    const unit = scale === 1 ? 's' : `emulated s; clock ×${scale}`;
    console.log(`«Чаты» CRM rules: 100 new clients write at once, then 50 of them again → one portal, bucket 2 req/s, burst 50 (clock ×${scale})`);
    console.log(`  leads created           ${c.leads} / ${c.chats}   (one per new client)`);
    console.log(`  time until all applied  ${c.seconds.toFixed(1)} s   (${unit}; ${c.realSeconds.toFixed(1)} s real)${c.settled ? '' : '   NOT SETTLED: the wait hit its cap'}`);
    console.log(`  REST calls              ${c.restCalls}   (${(c.restCalls / c.chats).toFixed(2)} per chat, continuations included)`);
    console.log(`  Data API calls          ${c.dataApiCalls}`);
    console.log(`  503s provoked           ${c.limited503}   (goal 0)`);
  },
  async telephony() {
    const clock = scale === 1 ? systemClock : scaledClock(scale);
    const unit = scale === 1 ? 's' : `emulated s; clock ×${scale}`;
    const rateLimit = { drainPerSec: 2, burst: 50 };
    const b = await benchTelephonyBurst({ clock, calls: 500, notify: true, rateLimit, naiveCalls: 100 });
    console.log(`«Телефония»: 500 incoming calls from new clients, answered and recorded, ending within ${b.endedWithinSeconds.toFixed(0)} s → one portal, bucket 2 req/s, burst 50 (clock ×${scale}${scale === 1 ? '' : ', shared by the app and both emulators'})`);
    console.log(`  in Bitrix24             ${b.inBitrix} / ${b.calls} (${b.exactlyOnce ? 'each registered, finished and on a timeline exactly once' : 'NOT exactly once'}); leads ${b.leads}; recordings attached ${b.records}${b.settled ? '' : '   NOT SETTLED: the wait hit its cap'}`);
    console.log(`  REST requests per call  ${(b.restCalls / b.calls).toFixed(3)}   (${b.restCalls} requests; goal ≤ 1)`);
    console.log(`  503s provoked           ${b.limited503}   (goal 0)`);
    console.log(`  notifications           ${b.notificationsSent} sent by UIS, ${b.notificationsLost} of them did not reach the app (connection errors of the burst on one loopback; the calls report made up for them)`);
    console.log(`  time                    ${b.seconds.toFixed(1)} s from the first call (${unit}); the last call in Bitrix24 ${b.afterLastEnd.toFixed(1)} s after the last one ended`);
    console.log(`  naive, 5 calls/call     ${(b.naive.restCalls / b.naive.calls).toFixed(2)} requests per call (search + add + register + finish + attachRecord; ${b.naive.calls} calls, ${b.naive.seconds.toFixed(1)} s = ${(b.naive.seconds / b.naive.calls).toFixed(2)} s per call, ${b.naive.failed} failed, ${b.naive.limited503} 503s)`);
    const r = await benchTelephonyBurst({ clock, calls: 500, notify: false, rateLimit, limitSeconds: 1800 });
    console.log('  every notification dropped: the same burst from the calls report alone (reconciliation every minute)');
    console.log(`    in Bitrix24           ${r.inBitrix} / ${r.calls} (${r.exactlyOnce ? 'each exactly once' : 'NOT exactly once'}); recordings ${r.records}${r.settled ? '' : '   NOT SETTLED'}`);
    console.log(`    all in Bitrix24       ${r.afterLastEnd.toFixed(1)} s after the last call ended   (${unit}; goal ≤ 300 s)`);
    console.log(`    REST requests per call ${(r.restCalls / r.calls).toFixed(3)}; 503s ${r.limited503}`);
    const l = await benchTelephonyLatency({ samples: 100, pauseMs: 500 });
    console.log('Added latency: UIS «Ожидание ответа» notification POST → the request that shows the card leaves the app, idle portal (real time, one at a time, 500 ms apart)');
    console.log(`  registered call: show   p50 ${l.show.p50.toFixed(1)} / p99 ${l.show.p99.toFixed(1)} / max ${l.show.max.toFixed(1)} ms   (goal p99 ≤ 50 ms)`);
    console.log(`  new client, ringing first: search + lead + register/show   p50 ${l.cold.p50.toFixed(1)} / p99 ${l.cold.p99.toFixed(1)} / max ${l.cold.max.toFixed(1)} ms   (goal p99 ≤ 50 ms; ${l.samples} samples, ${l.missed} missed)`);
  },
  /** «Переадресация на персонального менеджера из CRM» (issue #14): `npm run bench -- --only manager` */
  async manager() {
    const load = () => `load average ${loadavg()[0]!.toFixed(1)} on ${cpus().length} cores`;
    const before = load();
    const m = await benchManager({ clients: 2000, rate: 200, seconds: 15 });
    const line = (p: typeof m.idle) =>
      `p50 ${p.p50.toFixed(1)} / p99 ${p.p99.toFixed(1)} / max ${p.max.toFixed(1)} ms   (goal p99 ≤ 20 ms; ${p.answered} / ${p.requests} answered, ${p.withManager} with the manager's numbers, ${p.other} failed${p.firstError ? ` (${p.firstError})` : ''}; ${p.seconds.toFixed(1)} s)`;
    console.log(`Personal manager: UIS interactive call processing asks at 200 requests/s for 15 s, ${m.clients} clients in the map (real time, loopback, open loop; the generator shares the app's process, so figures are an upper bound)`);
    console.log(`  map filled from the ONCRMCONTACTADD events in ${m.mapFilledSeconds.toFixed(1)} s`);
    const svc = (p: typeof m.idle) => `p50 ${p.service.p50.toFixed(2)} / p99 ${p.service.p99.toFixed(2)} ms`;
    console.log(`  answer latency          ${line(m.idle)}`);
    console.log(`    of which the lookup   ${svc(m.idle)} (the service alone, from the map; the rest is HTTP on a shared event loop)`);
    console.log(`  portal slow: every batch answer held, 5 responsible changes a second (${m.slowPortal.changes} changes, ${m.slowPortal.heldBatches} reads held)`);
    console.log(`  answer latency          ${line(m.slowPortal)}`);
    console.log(`    of which the lookup   ${svc(m.slowPortal)}`);
    const c = await benchManagerChild({ clients: 2000, rate: 200, seconds: 15 });
    console.log(`  the app alone in its own process (emulators and generator in this one): ${c.clients} clients`);
    console.log(`  (machine: ${before} before, ${load()} after — other work on the machine shows in the p99)`);
    console.log(`  answer latency          ${line(c.pass)}`);
  },
  /** Several instances on one store (issue #12): `npm run bench -- --only scale [-- --stores sqlite,postgres]` */
  async scale() {
    const small = args.includes('--small');
    /** node flags for every instance (rates and memory), e.g. `--node-flags "--max-semi-space-size=2"` */
    const nodeFlags = arg('--node-flags')?.split(' ').filter(Boolean);
    const load = () => `load average ${loadavg().map((x) => x.toFixed(2)).join(' / ')} on ${cpus().length} cores`;
    const stores = (arg('--stores') ?? 'sqlite,postgres').split(',') as Array<'sqlite' | 'postgres'>;
    /** `--parts rates,burst,memory` (default all three) */
    const parts = (arg('--parts') ?? 'rates,burst,memory').split(',');
    console.log(`Scale (#12): app instances as child processes sharing one store (${stores.join(' and ')}: one SQLite file in WAL mode / one PostgreSQL schema on this machine); emulators and the load generator in this process (${load()})`);
    const entry = await compileEntry();
    try {
      const count = Number(arg('--count') ?? (small ? 1000 : 10_000));
      const cores = (xs: number[]) => xs.map((c) => c.toFixed(2)).join(' + ');
      const rate = (x: { ok: number; sent: number; other: number; perSecond: number; cpu: { servers: number[]; client: number } }) =>
        `${x.perSecond.toFixed(0).padStart(6)}/s   (${x.ok} / ${x.sent} 2xx, other ${x.other}; CPU in cores: server ${cores(x.cpu.servers)}, client ${x.cpu.client.toFixed(2)}; together ${(x.cpu.servers.reduce((a, b) => a + b, 0) + x.cpu.client).toFixed(2)} of ${cpus().length})`;
      console.log(`  signed UIS /message callbacks, ${count.toLocaleString('en')} per run, keep-alive, 32 in flight spread round-robin over the instances; the portal's relay held (intake alone: 204 after the commit)`);
      for (const store of parts.includes('rates') ? stores : []) {
        const rounds = Number(arg('--rounds') ?? 5);
        const r = await benchScaleRates({ entry: entry.file, count, concurrency: 32, chats: 50, maxInstances: Number(arg('--instances') ?? 3), store, rounds, execArgv: [...(nodeFlags ?? []), ...(cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${cpuProf}`] : [])] });
        const name = store === 'sqlite' ? 'SQLite    ' : 'PostgreSQL';
        const one = r.instances[0]!.perSecond / r.instances[0]!.bare.perSecond;
        for (const i of r.instances) {
          const share = i.perSecond / i.bare.perSecond;
          const goal = i.n === 1 ? `goal ≥ ${store === 'sqlite' ? '60' : '30'} % of bare Node` : `${(share / one).toFixed(2)}× one instance (shares of their own bare rounds)${i.n === 3 ? '; goal ≥ 2×' : ''}`;
          console.log(`  bare Node, empty 204     ${rate(i.bare)}   = 100 % (reference for the next row: the same client and bodies, ${rounds} rounds interleaved with its ${rounds})`);
          console.log(`  ${i.n} instance${i.n > 1 ? 's' : ' '} on ${name} ${rate(i)}   = ${pct(share)} of bare Node   (${goal})`);
        }
      }
      console.log(`  (${load()} after the rates)`);
      const chats = small ? 10 : 50;
      // bridge.ts's queued burst (20 per chat: fits the bucket's burst of 50 calls), then one five
      // times larger, which the bucket paces (100 calls: 50 at once, the rest at 2 a second)
      for (const perChat of !parts.includes('burst') ? [] : small ? [20] : [20, 100]) {
        const burstOf = async (n: number) => benchScaleBurst({ entry: entry.file, instances: n, chats, perChat, store: stores.includes('postgres') ? 'postgres' : 'sqlite' });
        const b1 = await burstOf(1);
        const b3 = await burstOf(3);
        console.log(`  queued burst on ${stores.includes('postgres') ? 'PostgreSQL' : 'SQLite'}: ${b1.messages} visitor messages over ${chats} new UIS chats written while the relay is held (callbacks spread over the instances), then released; portal 2 req/s, burst 50 (real time; includes up to 1 s until an instance looks at the released portal again)`);
        for (const b of [b1, b3]) {
          console.log(`  ${b.instances} instance${b.instances > 1 ? 's' : ' '}              ${b.seconds.toFixed(1)} s${b.settled ? '' : ' NOT SETTLED'}; ${b.delivered} / ${b.messages} in the open line (${b.exactlyOnce ? 'each exactly once, in order' : 'NOT exactly once / in order'}; duplicates ${b.duplicates}); REST calls ${b.restCalls} (${b.sendCalls} send/batch); 503s ${b.limited503}`);
        }
        console.log(`  3 vs 1                   time ×${(b3.seconds / b1.seconds).toFixed(2)}, REST calls ×${(b3.restCalls / Math.max(1, b1.restCalls)).toFixed(2)}, 503s ${b3.limited503} vs ${b1.limited503}   (goal: not slower, not noisier)`);
      }
      if (!parts.includes('memory')) return;
      for (const store of stores) {
        const m = await benchScaleMemory({ store, ...(small ? { entry: entry.file, portals: 20, chatsPerPortal: 50, messagesPerChat: 2, idleSeconds: 3, burst: 1000, concurrency: 32 } : { entry: entry.file, portals: 1000, chatsPerPortal: 100, messagesPerChat: 10, idleSeconds: 15, burst: 10_000, concurrency: 32 }), execArgv: nodeFlags });
        if (nodeFlags) console.log(`  (every instance above ran with node ${nodeFlags.join(' ')})`);
        console.log(`  memory on ${store === 'sqlite' ? 'SQLite' : 'PostgreSQL'}: one instance alone in its process, ${m.portals.toLocaleString('en')} installed portals, ${m.chats.toLocaleString('en')} bridged chats, ${m.messages.toLocaleString('en')} messages (seeded: ${m.seeded.rows.toLocaleString('en')} rows in ${m.seeded.seconds.toFixed(1)} s, ${store === 'sqlite' ? 'file' : 'schema'} ${m.seeded.dbMiB.toFixed(0)} MiB)`);
        const heap = (h: { heapUsed: number; heapTotal: number; external: number }) => `JS heap ${h.heapUsed.toFixed(0)} used / ${h.heapTotal.toFixed(0)} MiB, external ${h.external.toFixed(0)} MiB`;
        console.log(`  RSS idle                 ${m.idle.toFixed(0)} MiB ${m.idleAfterSeconds} s after start   (goal ≤ 150 MB; ${heap(m.idleHeap)})`);
        console.log(`  RSS under the burst      peak ${m.burst.peak.toFixed(0)} MiB, ${m.burst.after.toFixed(0)} MiB 3 s after (${m.burst.ok} / ${m.burst.sent} callbacks 2xx at ${m.burst.perSecond.toFixed(0)}/s, relay running); process peak (VmHWM, start-up included) ${m.hwm.toFixed(0)} MiB   (goal ≤ 150 MB; after: ${heap(m.afterHeap)})`);
      }
      console.log(`  (${load()} at the end)`);
    } finally {
      entry.remove();
    }
  },
  /** What one UIS callback costs each store (issue #12): `npm run bench -- --only intake-cost [-- --count N]` */
  async 'intake-cost'() {
    const c = await benchIntakeCost({ callbacks: Number(arg('--count') ?? 20_000), group: 16 });
    console.log(`Intake cost (#12): the UIS callback chain over ${c.sqlite.callbacks.toLocaleString('en')} visitor messages of one portal, 50 open chats, line bound, «Чаты» rules on (in process, no HTTP)`);
    console.log(`  SQLite, group commit of ${c.sqlite.group}   ${c.sqlite.pagesPerCallback.toFixed(2)} WAL pages written per callback; CPU ${c.sqlite.cpuMicros.toFixed(0)} µs per callback (chain + commit, checkpoints included)`);
    if ('error' in c.postgres) console.log(`  PostgreSQL               not measured: ${c.postgres.error}`);
    else console.log(`  PostgreSQL, inbox consumer  ${c.postgres.statementsPerCallback.toFixed(2)} statements sent per callback (${c.postgres.callbacks.toLocaleString('en')} callbacks; each a round trip)`);
  },
  /** The PostgreSQL callback inbox as the acknowledgement (issue #12): `npm run bench -- --only pg-intake` */
  async 'pg-intake'() {
    const load = () => `load average ${loadavg().map((x) => x.toFixed(2)).join(' / ')} on ${cpus().length} cores`;
    const count = Number(arg('--count') ?? 20_000);
    const maxInstances = Number(arg('--instances') ?? 2);
    const before = load();
    const r = await benchPgIntake({ count, concurrency: 32, maxInstances });
    const cores = (xs: number[]) => xs.map((c) => c.toFixed(2)).join(' + ');
    const rate = (x: { ok: number; sent: number; other: number; perSecond: number; cpu: { servers: number[]; client: number } }) =>
      `${x.perSecond.toFixed(0).padStart(6)}/s   (${x.ok} / ${x.sent} 2xx, other ${x.other}; CPU in cores: server ${cores(x.cpu.servers)}, client ${x.cpu.client.toFixed(2)})`;
    console.log(`PostgreSQL intake (#12): UIS /message callbacks, ${count.toLocaleString('en')} per run, keep-alive, 32 in flight spread round-robin; PostgreSQL ${r.serverVersion} on this machine (${before})`);
    console.log('  each instance its own process: JSON + zod parse, dedupe key, submit into the PostgreSQL callback inbox (one multi-row INSERT per group), 204 after the commit');
    console.log(`  bare Node, empty 204     ${rate(r.bare)}   = 100 % (reference: the same client and bodies)`);
    for (const i of r.instances) {
      const goal = i.n === 1 ? 'goal ≥ 30 % of bare Node' : `${(i.perSecond / r.instances[0]!.perSecond).toFixed(2)}× one instance`;
      console.log(`  ${i.n} instance${i.n > 1 ? 's' : ' '} on PostgreSQL ${rate(i)}   = ${pct(i.perSecond / r.bare.perSecond)} of bare Node   (${goal})`);
      console.log(`    groups                 ${i.groups} INSERTs, ${i.avgGroup.toFixed(1)} callbacks each on average, largest ${i.largestGroup}; retried alone ${i.retriedAlone}`);
    }
    console.log(`  rows in the inbox        ${r.stored} for ${r.acknowledged} callbacks acknowledged (warm-up included)`);
    console.log(`  (${load()} after)`);
  },
  async workspace() {
    const kB = (n: number) => `${(n / 1024).toFixed(1)} kB`;
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const w = await benchWorkspace({ runs: 5 });
    console.log('Workspace pages: what each entry loads, as served from dist/ (gzip, JS + CSS; goal ≤ 100 kB, lazy chunks included)');
    for (const e of w.weights) console.log(`  ${e.page.padEnd(22)} ${kB(e.totalBytes)} in all (${kB(e.initialBytes)} before first paint); on the wire as served (brotli): ${kB(e.wireBytes)}`);
    console.log('Frame insertion → UIS workspace frame shown (headless Chromium, loopback, real time, cold cache, 5 runs)');
    for (const t of w.timings) console.log(`  ${t.name.padEnd(40)} median ${median(t.runsMs).toFixed(0)} ms   (${t.runsMs.map((x) => x.toFixed(0)).join(', ')})`);
  },
};

async function main() {
  // every wait of a bench may sit on unref'd timers (the scaled clock, the emulators): keep the process alive until done
  const keepAlive = setInterval(() => undefined, 1000);
  const names = only ? [only] : Object.keys(BENCHES);
  for (const name of names) {
    const bench = BENCHES[name];
    if (!bench) throw new Error(`no benchmark "${name}"; have: ${Object.keys(BENCHES).join(', ')}`);
    await bench();
    console.log(`  memory (rss)            ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB\n`);
  }
  clearInterval(keepAlive);
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
