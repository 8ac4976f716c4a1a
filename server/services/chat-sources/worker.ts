import { AmoApiError, AmoReauthError } from '../../amocrm/errors';
import type { ChatSource } from '../../contracts/chat-sources';
import { prepareUpload, type Conversation, type PipelineSettings } from '../../domain/analytics-pipeline';
import { amoConversation, type SessionField } from '../../domain/chat-sources/amocrm';
import { backoffDelay, JOB_RETRY } from '../../domain/backoff';
import { RESOLVED_BY } from '../../domain/chat-sources/errors';
import { accountZones } from '../../uis/account-zone';
import { dataApiForLink, type DataApiClient } from '../../uis/data-api';
import { createJobLoop } from '../job-loop';
import { createPollLeases } from '../poll-leases';
import { uploadInBatches, type UploadEntry } from '../analytics/upload';
import { readTalks } from './amo-read';
import { registerAmoWebhook } from './amo-connect';
import type { ChatSourcesDeps } from './deps';
import type { SourceItem } from './ports';
import { loadAmoSettings, loadJivoSettings } from './settings';

/**
 * The durable queue of «Источники чатов» → the analytics pipeline. Per portal run: Jivo items carry
 * their finished conversation; amoCRM items are read (talk, then leads and contacts in lists);
 * each goes through `prepareUpload` (fallbacks, checks) and the shared upload step, chats and
 * requests in calls of up to 50. Every outcome is written on the item and on the source's state.
 * Nothing is lost: without a UIS link, without amoCRM access, or while UIS or amoCRM are down,
 * items wait and are retried.
 */
export interface ChatSourcesWorkerOptions {
  /** A closed talk whose contact cannot be read yet (an unsorted lead) is read again after this long… */
  contactRetryMs?: number;
  /** …this many times, then skipped for want of a contact. */
  contactRetries?: number;
  maxAttempts?: number;
  /** Finished items (uploaded, skipped, failed) keep the client's conversation this long, then only the row (default 30 days). */
  retentionMs?: number;
}

export interface ChatSourcesWorker {
  wake(): void;
  drain(): Promise<void>;
  idle(): Promise<void>;
  /** Every `intervalMs`: refresh amoCRM pairs older than a week, check the webhook (keep-alive). */
  startKeepAlive(intervalMs: number): void;
  /** The keep-alive of one portal now (tests; the periodic run calls it). */
  keepAlive(memberId: string): Promise<void>;
  stop(): void;
}

type Key = { item: SourceItem; conv: Conversation; settings: PipelineSettings };

const WEEK = 7 * 86_400_000;
const GATHER_MS = 500;

export function createChatSourcesWorker(deps: ChatSourcesDeps, o: ChatSourcesWorkerOptions = {}): ChatSourcesWorker {
  const contactRetryMs = o.contactRetryMs ?? 15 * 60_000;
  const contactRetries = o.contactRetries ?? 4;
  const maxAttempts = o.maxAttempts ?? 10;
  const retentionMs = o.retentionMs ?? 30 * 86_400_000;
  let prunedAt = 0;
  const log = deps.log.child({ component: 'chat-sources' });
  const zoneOf = accountZones();
  const backoff = (attempts: number) => backoffDelay(JOB_RETRY, attempts);
  const now = () => deps.clock.now();
  let keepAliveStopped = false;

  const error = (memberId: string, source: ChatSource, code: string, message: string) => deps.sources.noteError(memberId, source, { at: now(), code, message });
  const finish = (item: SourceItem, status: 'skipped' | 'failed' | 'open', reason: string) => deps.sources.updateItem(item.id, { status, reason });
  /** Again later; past the attempts it fails with the reason (which the list shows). */
  const later = async (item: SourceItem, reason: string, at?: number) => {
    const attempts = item.attempts + 1;
    if (attempts >= maxAttempts) return finish(item, 'failed', `gave up after ${attempts} attempts: ${reason}`);
    await deps.sources.updateItem(item.id, { status: 'waiting', attempts, dueAt: at ?? now() + backoff(attempts), reason });
  };
  /**
   * UIS or amoCRM down or limiting: again after a back-off growing to 30 minutes, and never given
   * up — an outage of hours must not lose what was queued (the cause is not the item's).
   */
  const outage = (item: SourceItem, reason: string) => {
    const attempts = item.attempts + 1;
    return deps.sources.updateItem(item.id, { status: 'waiting', attempts, dueAt: now() + backoff(attempts), reason: `${reason} (attempt ${attempts}, retried automatically)` });
  };
  /** Wait without spending an attempt (the cause is outside the item: no link, no grant). */
  const hold = (item: SourceItem, reason: string, ms: number) => deps.sources.updateItem(item.id, { status: 'waiting', dueAt: now() + ms, reason });

  async function jivoEntries(memberId: string, items: SourceItem[]): Promise<Key[]> {
    const { settings } = await loadJivoSettings(deps, memberId);
    const out: Key[] = [];
    for (const item of items) {
      if (!settings.enabled) {
        await finish(item, 'skipped', 'SOURCE_DISABLED: Jivo was switched off in the settings');
        continue;
      }
      out.push({ item, conv: item.payload as Conversation, settings });
    }
    return out;
  }

  async function amoEntries(memberId: string, items: SourceItem[]): Promise<Key[]> {
    const [{ settings }, conn] = await Promise.all([loadAmoSettings(deps, memberId), deps.amoAccounts.get(memberId)]);
    if (!settings.enabled) {
      for (const item of items) await finish(item, 'skipped', 'SOURCE_DISABLED: amoCRM was switched off in the settings');
      return [];
    }
    if (!conn || conn.status !== 'active') {
      await error(memberId, 'amocrm', 'AMO_REAUTH', conn?.statusReason ?? 'no amoCRM account is connected');
      for (const item of items) await hold(item, 'AMO_REAUTH: waiting for the amoCRM account to be connected again', 10 * 60_000);
      return [];
    }
    let read;
    try {
      read = await readTalks(deps.amo.client(memberId), items.map((i) => (i.payload as { talkId: number }).talkId));
    } catch (e) {
      if (e instanceof AmoReauthError) {
        await error(memberId, 'amocrm', 'AMO_REAUTH', e.reason);
        for (const item of items) await hold(item, `AMO_REAUTH: ${e.reason}`, 10 * 60_000);
        return [];
      }
      if (e instanceof AmoApiError) {
        await error(memberId, 'amocrm', 'AMO_UNAVAILABLE', e.message);
        for (const item of items) await outage(item, `amoCRM: ${e.message}`);
      } else for (const item of items) await later(item, `amoCRM: ${(e as Error).message}`);
      return [];
    }
    await deps.sources.resolveErrors(memberId, 'amocrm', RESOLVED_BY.amoRead);
    const out: Key[] = [];
    for (const item of items) {
      const r = read.get((item.payload as { talkId: number }).talkId)!;
      if ('gone' in r) await finish(item, 'skipped', r.gone);
      else if ('forbidden' in r) {
        await error(memberId, 'amocrm', 'AMO_FORBIDDEN', r.forbidden);
        await finish(item, 'failed', r.forbidden);
      } else if (r.talk.isInWork) await finish(item, 'open', 'the talk is in work again: it goes when it closes');
      else if (!r.contact) {
        // an unsorted lead's contact is not readable until the lead is accepted
        if (item.attempts >= contactRetries) await finish(item, 'skipped', 'NO_CONTACT: amoCRM gave no readable contact for the talk');
        else await later(item, 'waiting for the contact (an unsorted lead?)', now() + contactRetryMs);
      } else {
        const conv = amoConversation(conn.accountId, r.talk, r.lead, r.contact, settings.sessionField as SessionField | null);
        out.push({ item, conv, settings: { ...settings, employeeId: null } });
      }
    }
    return out;
  }

  async function processPortal(memberId: string): Promise<void> {
    // a webhook's item waits a gather window (intake.ts); a run also takes what is queued behind it
    // within that window, so a burst shares runs and upload calls
    const due = await deps.sources.due(memberId, now() + GATHER_MS, 500);
    // a payload the retention forgot is never due (only a new copy makes an item pending again): a guard
    const items: SourceItem[] = [];
    for (const item of due) if (item.payload === null) await finish(item, 'skipped', 'PAYLOAD_FORGOTTEN: the conversation is no longer kept');
    else items.push(item);
    if (!items.length) return;
    const link = await deps.links.get(memberId);
    if (!link) {
      for (const source of ['jivo', 'amocrm'] as const) if (items.some((i) => i.source === source)) await error(memberId, source, 'UIS_NOT_LINKED', 'no UIS account is linked');
      for (const item of items) await hold(item, 'UIS_NOT_LINKED: link a UIS account on the main page', 5 * 60_000);
      return;
    }
    const api = dataApiForLink(link, deps.uisEndpoints, deps.fetch);
    let zone: string;
    try {
      zone = await zoneOf(memberId, api);
    } catch (e) {
      const reason = `get.account: ${(e as Error).message}`;
      for (const source of ['jivo', 'amocrm'] as const) if (items.some((i) => i.source === source)) await error(memberId, source, 'UIS_UNAVAILABLE', reason);
      for (const item of items) await outage(item, reason);
      return;
    }
    const keys = [...(await jivoEntries(memberId, items.filter((i) => i.source === 'jivo'))), ...(await amoEntries(memberId, items.filter((i) => i.source === 'amocrm')))];
    const batches: Record<'chat' | 'request', Array<UploadEntry<Key>>> = { chat: [], request: [] };
    for (const key of keys) {
      const p = prepareUpload(key.conv, key.settings, now(), zone);
      if ('skip' in p) await finish(key.item, 'skipped', p.skip);
      else batches[p.kind].push({ key, item: p.item, attribution: p.attribution });
    }
    for (const kind of ['chat', 'request'] as const) if (batches[kind].length) await upload(memberId, api, kind, batches[kind], zone);
  }

  async function upload(memberId: string, api: DataApiClient, kind: 'chat' | 'request', entries: Array<UploadEntry<Key>>, zone: string) {
    const sources = new Set<ChatSource>();
    await uploadInBatches(api, kind, entries, {
      uploaded: async ({ key, attribution }, uisId) => {
        sources.add(key.item.source);
        await deps.sources.updateItem(key.item.id, { status: 'uploaded', attribution, reason: null, uisId });
      },
      refused: async ({ key }, reason) => {
        await error(memberId, key.item.source, 'UIS_REJECTED', reason);
        await finish(key.item, 'failed', reason);
      },
      later: async ({ key }, reason) => {
        await error(memberId, key.item.source, 'UIS_UNAVAILABLE', reason);
        await outage(key.item, reason);
      },
      withoutSession: (e, why) => {
        const p = prepareUpload(e.key.conv, e.key.settings, now(), zone, false);
        return 'skip' in p ? null : { key: e.key, item: p.item, attribution: `${p.attribution} (UIS refused session ${e.key.conv.sessionId}: ${why.slice(0, 160)})` };
      },
    });
    for (const s of sources) {
      await deps.sources.noteUpload(memberId, s, now());
      await deps.sources.resolveErrors(memberId, s, RESOLVED_BY.upload);
    }
    if (sources.size) log.info({ memberId, kind, count: entries.length }, 'chat-source conversations uploaded to UIS analytics');
  }

  const loop = createJobLoop({
    name: 'chat-sources',
    clock: deps.clock,
    log,
    debounceMs: 50,
    portalsWithDueJobs: (at) => deps.sources.portalsWithDue(at),
    nextDueAt: () => deps.sources.nextDueAt(),
    processPortal,
    // several instances on one database (issue #12): a portal's queue is worked by one of them
    lease: deps.lease,
    beforeRun() {
      // retention, at most once an hour: finished items lose the client's conversation (counts logged, never texts)
      if (now() - prunedAt <= 3600_000) return;
      prunedAt = now();
      const before = prunedAt - retentionMs;
      void (async () => {
        try {
          const n = await deps.sources.forgetPayloads(before);
          if (n) log.info({ items: n }, 'chat-sources retention: payloads of finished items forgotten');
        } catch (e) {
          log.warn({ err: e }, 'chat-sources retention failed');
        }
      })();
    },
  });

  async function keepAlive(memberId: string): Promise<void> {
    const conn = await deps.amoAccounts.get(memberId);
    if (!conn || conn.status !== 'active') return;
    try {
      if (now() - conn.refreshedAt > WEEK) await deps.amo.client(memberId).refreshNow();
      await deps.amo.client(memberId).get('/api/v4/account');
      await deps.sources.resolveErrors(memberId, 'amocrm', RESOLVED_BY.amoRead);
      if (conn.webhook.mode === 'api') await registerAmoWebhook(deps, memberId);
    } catch (e) {
      if (e instanceof AmoReauthError) await error(memberId, 'amocrm', 'AMO_REAUTH', e.reason);
      else if (e instanceof AmoApiError) await error(memberId, 'amocrm', 'AMO_UNAVAILABLE', e.message);
      else throw e;
    }
  }

  return {
    wake: () => loop.wake(),
    drain: () => loop.drain(),
    idle: () => loop.idle(),
    keepAlive,
    startKeepAlive(intervalMs) {
      // a cluster: the instance that kept a portal's amoCRM access alive keeps doing it, the others skip it
      const polls = createPollLeases(deps.lease, 'poll:amocrm-keep-alive', log);
      void (async () => {
        while (!keepAliveStopped) {
          const list = (await deps.amoAccounts.connected().catch(() => [])).map((c) => c.memberId);
          await polls.keepOnly(list);
          for (const memberId of list) {
            if (keepAliveStopped) break;
            if (!(await polls.mine(memberId).catch(() => false))) continue;
            await keepAlive(memberId).catch((e: unknown) => log.warn({ err: e, memberId }, 'amoCRM keep-alive failed'));
          }
          if (!keepAliveStopped) await deps.clock.sleep(intervalMs);
        }
        await polls.releaseAll();
      })();
    },
    stop: () => {
      keepAliveStopped = true;
      loop.stop();
    },
  };
}
