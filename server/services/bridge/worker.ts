// The bridge worker: the public types, the durable queue runner (`createBridgeWorker`), the per-portal
// round (`processPortal`) and the job loop wiring. The relay itself lives in relay-inbound.ts,
// relay-outbound.ts and relay-status.ts; what they share in worker-context.ts.
import { createJobLoop } from '../job-loop';
import { takeOfflineEvents } from '../../bitrix/offline-events';
import { runUpdate } from './edits';
import type { BridgeJob } from './ports';
import { createRelayContext, type BridgeWorkerDeps, type BridgeWorkerOptions } from './worker-context';
import { runInbound } from './relay-inbound';
import { runOutbound } from './relay-outbound';
import { runDeliveries, runNotice, runRename, runVerify } from './relay-status';

// the worker's dependencies and options are declared with the context its relays share
export type { BridgeWorkerDeps, BridgeWorkerOptions } from './worker-context';

export interface BridgeWorker {
  /** `gatherMs`: the work just queued waits that long on purpose (outbound messages, on-bitrix-event.ts); `drain` waits for it. */
  wake(gatherMs?: number): void;
  /** Resolves when nothing is due now or still gathering (not backing off) and no run is in flight. */
  drain(): Promise<void>;
  /** ONIMCONNECTORMESSAGEADD rows of the portal's offline queue (the online event is at-most-once). */
  pollOffline(memberId: string): Promise<number>;
  /** Poll now (catch-up after our own downtime), then every `intervalMs`, for `portals()`. */
  startOfflinePolling(intervalMs: number, portals: () => string[] | Promise<string[]>): void;
  stop(): void;
  /** Relay nothing until `release()`: callbacks are still recorded and queued (maintenance; the burst benchmark). */
  hold(): void;
  release(): void;
  /** Resolves when the run in flight (if any) has finished. */
  drainInFlight(): Promise<void>;
  /**
   * The portal's inbound relay waits until `ungate` (at the latest until `untilMs`); callbacks are
   * still recorded and queued. At start-up the reconcile runs first (recovery.ts), so the messages
   * clients wrote while we were down go out before the ones that arrive now: UIS order per chat.
   */
  gate(memberId: string, untilMs: number): void;
  /** Resolves when the held jobs are due now and the relay is woken. */
  ungate(memberId: string): Promise<void>;
  /** Hook for ONIMCONNECTORMESSAGEADD data (set by the composition root). */
  onMessageAdd?: (memberId: string, data: unknown) => Promise<boolean>;
}

/**
 * The bridge's durable queue runner. One run at a time per portal, several portals at once
 * (job-loop.ts: a rate-limited portal does not hold up the others); jobs are read oldest first and a chat's later job never overtakes an earlier
 * pending one (order per chat). Inbound: pending messages of a line travel in one
 * `imconnector.send.messages`, several lines share a `batch`; the first message of a chat
 * Bitrix24 does not know yet is sent alone and the rest wait for the mapping (single-flight per
 * portal, line and UIS chat). Outbound: as the mapped UIS employee via the runtime API.
 */
export function createBridgeWorker(deps: BridgeWorkerDeps, o: BridgeWorkerOptions = {}): BridgeWorker {
  const gatherMs = o.gatherMs ?? 10;
  const ctx = createRelayContext(deps, o);
  const { repo, log, later, errText } = ctx;
  /** memberId → until when its inbound relay waits, and the chats whose jobs were held */
  const gates = new Map<string, { until: number; chats: Set<string> }>();
  /** until when work queued on purpose for later (gathered outbound messages) is still waiting */
  let gatherUntil = 0;

  // ------------------------------------------------------------------ runs

  async function processPortal(memberId: string): Promise<void> {
    const blocked = new Set<string>();
    for (let round = 0; round < 1000 && !loop.stopped; round++) {
      const jobs = await repo.due(memberId, deps.clock.now(), 2000);
      if (!jobs.length) return;
      const seen = new Set<string>();
      const inbound: BridgeJob[] = [];
      const deliveries: BridgeJob[] = [];
      const singles: BridgeJob[] = [];
      // order per chat: only the oldest due job of each chat key of kind out/notice runs per round
      for (const j of jobs) {
        if (j.kind === 'in') inbound.push(j);
        else if (j.kind === 'delivery') deliveries.push(j);
        else if (!seen.has(j.chatKey)) {
          seen.add(j.chatKey);
          singles.push(j);
        }
      }
      const before = await repo.pendingSignature(memberId);
      blocked.clear();
      const gate = gates.get(memberId);
      if (gate && gate.until > deps.clock.now()) {
        for (const j of inbound) {
          await repo.retry(j.id, j.attempts, gate.until, 'waiting for the start-up reconcile with UIS');
          gate.chats.add(j.chatKey);
        }
        inbound.length = 0;
      }
      if (inbound.length) await runInbound(ctx, memberId, inbound, blocked);
      for (const j of singles) {
        try {
          if (j.kind === 'out') await runOutbound(ctx, memberId, j);
          else if (j.kind === 'notice') await runNotice(ctx, memberId, j);
          else if (j.kind === 'verify') await runVerify(ctx, memberId, j);
          else if (j.kind === 'rename') await runRename(ctx, memberId, j);
          else if (j.kind === 'update') await runUpdate({ bridge: repo, gateway: deps.gateway, now: () => deps.clock.now(), later }, memberId, j);
          else await repo.fail(j.id, `unknown job kind ${j.kind}`);
        } catch (e) {
          log.error({ err: e, memberId, job: j.id }, 'bridge job crashed');
          await later(j, errText(e));
        }
      }
      if (deliveries.length) await runDeliveries(ctx, memberId, deliveries);
      if ((await repo.pendingSignature(memberId)) === before) return; // nothing moved: the rest waits for its due time
    }
  }

  let prunedAt = 0;
  const loop = createJobLoop({
    name: 'bridge',
    clock: deps.clock,
    log,
    debounceMs: gatherMs,
    portalsWithDueJobs: (now) => repo.portalsWithDueJobs(now),
    nextDueAt: () => repo.nextDueAt(),
    processPortal,
    lease: deps.gateway.leases,
    beforeRun() {
      if (deps.clock.now() - prunedAt <= 3600_000) return;
      prunedAt = deps.clock.now();
      const before = prunedAt - (o.retentionMs ?? 7 * 24 * 3600_000);
      void (async () => {
        try {
          const n = await repo.prune(before);
          if (n.jobs || n.inbox) log.info(n, 'bridge retention: pruned done jobs and old UIS inbox rows');
        } catch (e) {
          log.warn({ err: e }, 'bridge retention failed');
        }
      })();
    },
  });

  const worker: BridgeWorker = {
    wake(gatherMs) {
      if (gatherMs) gatherUntil = Math.max(gatherUntil, deps.clock.now() + gatherMs);
      loop.wake();
    },
    async drain() {
      for (;;) {
        await loop.drain();
        const wait = gatherUntil - deps.clock.now();
        if (wait <= 0) return;
        await deps.clock.sleep(wait); // gathered outbound messages become due: wait for them, not for back-offs
      }
    },
    async pollOffline(memberId) {
      const rest = deps.gateway.client(memberId);
      let taken = 0;
      await takeOfflineEvents(rest, 'ONIMCONNECTORMESSAGEADD', async (data) => {
        if (await worker.onMessageAdd?.(memberId, data)) taken++;
      });
      if (taken) loop.wake(0);
      return taken;
    },
    startOfflinePolling: (intervalMs, portals) => loop.everyPortal(intervalMs, portals, (m) => worker.pollOffline(m), 'bridge offline poll failed'),
    stop: () => loop.stop(),
    hold: () => loop.pause(),
    release: () => loop.resume(),
    drainInFlight: () => loop.idle(),
    gate(memberId, untilMs) {
      gates.set(memberId, { until: untilMs, chats: gates.get(memberId)?.chats ?? new Set() });
    },
    async ungate(memberId) {
      const gate = gates.get(memberId);
      if (!gate) return;
      gates.delete(memberId);
      const now = deps.clock.now();
      try {
        for (const chatKey of gate.chats) await repo.dueNow(memberId, chatKey, now);
      } catch (e) {
        log.warn({ err: e, memberId }, 'bridge: held jobs not made due now (they run at their due time)');
      }
      loop.wake(0);
    },
  };
  return worker;
}
