import { ReauthRequiredError } from '../../bitrix/errors';
import { buildUploadItem, type UploadChatItem } from '../../domain/analytics';
import { backoffDelay, JOB_RETRY } from '../../domain/backoff';
import type { Clock } from '../../domain/clock';
import type { Logger } from '../../logging';
import { accountZones } from '../../uis/account-zone';
import { dataApiForLink, type DataApiClient } from '../../uis/data-api';
import type { AsyncPort } from '../async-port';
import type { AnalyticsJob, AnalyticsRepository, BitrixGateway, UisEndpoints, UisLinkRepository } from '../ports';
import type { UisProject } from '../../contracts/uis';
import { gather, planBatches } from './gather';
import { createJobLoop } from '../job-loop';
import { uploadInBatches } from './upload';
import { takeOfflineEvents } from '../../bitrix/offline-events';

export interface AnalyticsWorkerDeps {
  analytics: AsyncPort<AnalyticsRepository>;
  gateway: BitrixGateway;
  links: AsyncPort<UisLinkRepository>;
  uisEndpoints(project: UisProject): UisEndpoints;
  clock: Clock;
  log: Logger;
  fetch?: typeof fetch;
  /**
   * Other consumers of new leads and deals (the «Открытые линии» tab's fields). The portal keeps
   * one offline queue per event for the app: whoever takes a row takes it for all, so this poll
   * hands every row to them too, and polls their portals as well.
   */
  leadDealConsumers?: Array<{ portals(): Promise<string[]>; take(memberId: string, type: 'lead' | 'deal', id: number): Promise<boolean> }>;
}

export interface AnalyticsWorkerOptions {
  /** Wait this long after the first event of a burst, so that a burst shares batches. */
  gatherMs?: number;
  /** A live-chat chat without a session yet waits this long for the site script's session id. */
  lateSessionMs?: number;
  /** After uploading with a fallback attribution, look once more for a late session id. */
  recheckMs?: number;
  maxAttempts?: number;
}

export interface AnalyticsWorker {
  /** New work may be due: run soon (debounced). */
  wake(): void;
  /** Resolves when nothing is due now and no run is in flight. */
  drain(): Promise<void>;
  /** Take ONCRMLEADADD/ONCRMDEALADD rows from the portal's offline queue (guaranteed delivery). */
  pollOffline(memberId: string): Promise<number>;
  /**
   * Poll every enabled portal's offline queue now (catch-up after our own downtime) and then
   * every `intervalMs`: online events are at-most-once (docs/facts/bitrix24.md#event-delivery).
   */
  startOfflinePolling(intervalMs: number): void;
  stop(): void;
  /** Resolves when no run is in flight (graceful shutdown). */
  idle(): Promise<void>;
}

/**
 * Durable analytics jobs → `upload.chats`. Jobs live in the database, so a restart loses nothing;
 * each run gathers many entities per `batch` and uploads up to 50 chats per call; every outcome
 * (uploaded with what attribution, skipped and why, failed and why) is written on the job.
 */
export function createAnalyticsWorker(deps: AnalyticsWorkerDeps, o: AnalyticsWorkerOptions = {}): AnalyticsWorker {
  const gatherMs = o.gatherMs ?? 500;
  const lateSessionMs = o.lateSessionMs ?? 60_000;
  const recheckMs = o.recheckMs ?? 5 * 60_000;
  const maxAttempts = o.maxAttempts ?? 8;
  const log = deps.log.child({ component: 'analytics' });

  const backoff = (attempts: number) => backoffDelay(JOB_RETRY, attempts);

  const dataApi = async (memberId: string): Promise<DataApiClient | null> => {
    const link = await deps.links.get(memberId);
    return link ? dataApiForLink(link, deps.uisEndpoints, deps.fetch) : null;
  };

  const zoneOf = accountZones();

  const fail = (job: AnalyticsJob, reason: string) => deps.analytics.update(job.id, { status: 'failed', reason, recheckAt: null });
  const later = (job: AnalyticsJob, reason: string) => {
    const attempts = job.attempts + 1;
    if (attempts >= maxAttempts) return fail(job, `gave up after ${attempts} attempts: ${reason}`);
    return deps.analytics.update(job.id, { attempts, dueAt: deps.clock.now() + backoff(attempts), reason });
  };
  /** The same outcome for each job, one after the other. */
  const each = async (jobs: AnalyticsJob[], outcome: (j: AnalyticsJob) => Promise<void>) => {
    for (const j of jobs) await outcome(j);
  };

  /** Through the pipeline's upload step; an Open Lines chat whose session UIS refuses fails with the reason. */
  async function upload(memberId: string, api: DataApiClient, batch: Array<{ job: AnalyticsJob; item: UploadChatItem; attribution: string; fallback: boolean; connector: string }>) {
    const entries = batch.map((b) => ({ key: b, item: b.item, attribution: b.attribution }));
    let uploaded = 0;
    await uploadInBatches(api, 'chat', entries, {
      uploaded: async ({ key: p }) => {
        uploaded++;
        await deps.analytics.update(p.job.id, {
          status: 'uploaded',
          chatId: Number(p.item.ext_id.split(':').pop()),
          attribution: p.attribution,
          reason: null,
          recheckAt: p.fallback && p.connector === 'livechat' && p.job.status === 'pending' ? deps.clock.now() + recheckMs : null,
        });
      },
      refused: ({ key: p }, reason) => fail(p.job, reason),
      later: ({ key: p }, reason) => later(p.job, reason),
    });
    if (uploaded) log.info({ memberId, chats: uploaded }, 'chats uploaded to UIS analytics');
  }

  async function processPortal(memberId: string): Promise<void> {
    const jobs = await deps.analytics.due(memberId, deps.clock.now(), 800);
    if (!jobs.length) return;
    const cfg = await deps.analytics.getSettings(memberId);
    const api = await dataApi(memberId);
    if (!cfg?.settings.enabled) return each(jobs, (j) => deps.analytics.update(j.id, { status: 'skipped', reason: 'ANALYTICS_DISABLED', recheckAt: null }));
    if (!api) return each(jobs, (j) => fail(j, 'UIS_NOT_LINKED: link a UIS account on the main page'));
    let zone: string;
    try {
      zone = await zoneOf(memberId, api);
    } catch (e) {
      return each(jobs, (j) => later(j, `get.account: ${(e as Error).message}`));
    }
    const rest = deps.gateway.client(memberId);
    const toUpload: Parameters<typeof upload>[2] = [];
    for (const group of planBatches(jobs)) {
      let gathered;
      try {
        gathered = await gather(rest, group);
      } catch (e) {
        if (e instanceof ReauthRequiredError) return each(group, (j) => fail(j, 'REAUTH_REQUIRED: an administrator must open the app again'));
        await each(group, (j) => later(j, `batch: ${(e as Error).message}`));
        continue;
      }
      const now = deps.clock.now();
      for (const g of gathered) {
        if ('skip' in g) await deps.analytics.update(g.job.id, { status: 'skipped', reason: g.skip, recheckAt: null });
        else if ('retry' in g) await later(g.job, g.retry);
        else if (g.job.status === 'uploaded' && !g.chat.sessionId) await deps.analytics.update(g.job.id, { recheckAt: null });
        else if (g.job.status === 'pending' && !g.chat.sessionId && g.chat.connector === 'livechat' && now - g.job.createdAt < lateSessionMs) {
          await deps.analytics.update(g.job.id, { dueAt: g.job.createdAt + lateSessionMs, reason: 'waiting for the site session id' });
        } else {
          const r = buildUploadItem(memberId, g.chat, cfg.settings, now, zone);
          if ('skip' in r) await deps.analytics.update(g.job.id, { status: 'skipped', reason: r.skip, chatId: g.chat.chatId, recheckAt: null });
          else toUpload.push({ job: g.job, item: r.item, attribution: r.attribution, fallback: !g.chat.sessionId, connector: g.chat.connector });
        }
      }
    }
    await upload(memberId, api, toUpload);
  }

  const loop = createJobLoop({
    name: 'analytics',
    clock: deps.clock,
    log,
    debounceMs: gatherMs,
    portalsWithDueJobs: (now) => deps.analytics.portalsWithDueJobs(now),
    nextDueAt: () => deps.analytics.nextDueAt(),
    processPortal,
    lease: deps.gateway.leases,
  });

  return {
    wake: () => loop.wake(),
    drain: () => loop.drain(),
    async pollOffline(memberId) {
      const rest = deps.gateway.client(memberId);
      const analyticsOn = (await deps.analytics.getSettings(memberId))?.settings.enabled === true;
      let taken = 0;
      for (const [event, type] of [['ONCRMLEADADD', 'lead'], ['ONCRMDEALADD', 'deal']] as const) {
        await takeOfflineEvents(rest, event, async (data) => {
          const id = Number((data as { FIELDS?: { ID?: unknown } } | undefined)?.FIELDS?.ID);
          if (!(id > 0)) return;
          if (analyticsOn && (await deps.analytics.enqueue(memberId, type, id, deps.clock.now()))) taken++;
          for (const c of deps.leadDealConsumers ?? []) await c.take(memberId, type, id);
        });
      }
      if (taken) loop.wake();
      return taken;
    },
    startOfflinePolling(intervalMs) {
      const portals = async () => {
        const all = new Set(await deps.analytics.enabledPortals());
        for (const c of deps.leadDealConsumers ?? []) for (const m of await c.portals()) all.add(m);
        return [...all];
      };
      loop.everyPortal(intervalMs, portals, (m) => this.pollOffline(m), 'offline queue poll failed');
    },
    stop: () => loop.stop(),
    idle: () => loop.idle(),
  };
}
