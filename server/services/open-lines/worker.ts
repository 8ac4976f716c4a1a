import { ReauthRequiredError } from '../../bitrix/errors';
import type { BatchCall } from '../../bitrix/rest-client';
import type { UisProject } from '../../contracts/uis';
import { backoffDelay, JOB_RETRY } from '../../domain/backoff';
import type { Clock } from '../../domain/clock';
import { templateVars } from '../../domain/crm-rules/template-vars';
import { openLineFieldWrites } from '../../domain/open-lines-fields';
import { dataApiDateTime } from '../../domain/uis-time';
import type { Logger } from '../../logging';
import { accountZones } from '../../uis/account-zone';
import { dataApiForLink, type DataApiClient } from '../../uis/data-api';
import { UisApiError } from '../../uis/errors';
import type { AsyncPort } from '../async-port';
import type { BridgeRepository } from '../bridge/ports';
import { CHAT_REPORT_FIELDS, chatFacts } from '../crm-rules/facts';
import { createJobLoop } from '../job-loop';
import type { BitrixGateway, UisEndpoints, UisLinkRepository } from '../ports';
import type { UisChannelRepository } from '../workspace-ports';
import type { OpenLineJob, OpenLinesRepository } from './ports';

export interface OpenLinesWorkerDeps {
  openLines: OpenLinesRepository;
  gateway: BitrixGateway;
  links: AsyncPort<UisLinkRepository>;
  bridge: Pick<AsyncPort<BridgeRepository>, 'chatByB24' | 'visitor'>;
  channels: AsyncPort<UisChannelRepository>;
  uisEndpoints(project: UisProject): UisEndpoints;
  clock: Clock;
  log: Logger;
  fetch?: typeof fetch;
}

export interface OpenLinesWorkerOptions {
  /** Wait this long after the first event of a burst, so that a burst shares batches. */
  gatherMs?: number;
  /** The bridge stores the open-line chat of a UIS chat from imconnector's answer; give it this many tries to show up. */
  chatRetries?: number;
  maxAttempts?: number;
}

export interface OpenLinesWorker {
  wake(): void;
  drain(): Promise<void>;
  stop(): void;
  idle(): Promise<void>;
}

type Row = Record<string, unknown>;
type Key = Pick<OpenLineJob, 'memberId' | 'entityType' | 'entityId'>;
/** Commands per job in the reading batch (entity, its open-line chat, its contact, its company). */
const PER_JOB = 4;
const MAX_BATCH = 50;
const REPORT_WINDOW_MS = 80 * 86_400_000;

const keyOf = (j: OpenLineJob): Key => ({ memberId: j.memberId, entityType: j.entityType, entityId: j.entityId });
const idOf = (v: unknown): number | null => (Number(v) > 0 ? Number(v) : null);

/**
 * «Доп. поля» of the «Открытые линии» tab: a lead or deal Open Lines created (ONCRMLEADADD /
 * ONCRMDEALADD, online or from the offline queue) gets the UIS chat's fields. Per run: one
 * `batch` reads the entities and their open-line chats; the chats our connector relayed are
 * known to the bridge (its open-line chat ⇄ UIS chat map); one `get.chats_report` call gives
 * their campaign, source, UTM, site…; a second `batch` reads the linked contacts and companies
 * when fields are mapped there; a third writes every entity's fields. Entities created from other
 * channels are skipped with the reason; every outcome is kept on the job (the tab lists them).
 */
export function createOpenLinesWorker(deps: OpenLinesWorkerDeps, o: OpenLinesWorkerOptions = {}): OpenLinesWorker {
  const log = deps.log.child({ component: 'open-lines' });
  const chatRetries = o.chatRetries ?? 3;
  const maxAttempts = o.maxAttempts ?? 8;
  const backoff = (attempts: number) => backoffDelay(JOB_RETRY, attempts);
  const zoneOf = accountZones();

  const finish = (j: OpenLineJob, status: 'done' | 'skipped' | 'failed', patch: { reason?: string | null; uisChatId?: string | null; written?: string[] } = {}) =>
    deps.openLines.update(keyOf(j), { status, reason: patch.reason ?? null, ...(patch.uisChatId !== undefined ? { uisChatId: patch.uisChatId } : {}), ...(patch.written ? { written: patch.written } : {}) });
  const later = async (j: OpenLineJob, reason: string) => {
    const attempts = j.attempts + 1;
    if (attempts >= maxAttempts) return finish(j, 'failed', { reason: `gave up after ${attempts} attempts: ${reason}` });
    await deps.openLines.update(keyOf(j), { attempts, dueAt: deps.clock.now() + backoff(attempts), reason });
  };

  async function reportRows(api: DataApiClient, zone: string, uisChatIds: string[]): Promise<Map<string, Row>> {
    const now = deps.clock.now();
    const r = await api.call<Row[]>('get.chats_report', {
      date_from: dataApiDateTime(now - REPORT_WINDOW_MS, zone),
      date_till: dataApiDateTime(now + 86_400_000, zone),
      fields: [...CHAT_REPORT_FIELDS],
      filter: { field: 'id', operator: 'in', value: uisChatIds.map(Number) },
      limit: uisChatIds.length,
    });
    return new Map((Array.isArray(r.data) ? r.data : []).map((row) => [String(row.id), row]));
  }

  async function processGroup(memberId: string, jobs: OpenLineJob[], fields: NonNullable<Awaited<ReturnType<OpenLinesRepository['getSettings']>>>['settings']['fields']) {
    const rest = deps.gateway.client(memberId);
    const reads: Record<string, BatchCall> = {};
    for (const j of jobs) {
      const k = `${j.entityType}${j.entityId}`;
      reads[`e_${k}`] = { method: `crm.${j.entityType}.get`, params: { id: j.entityId } };
      reads[`c_${k}`] = { method: 'imopenlines.crm.chat.getLastId', params: { CRM_ENTITY_TYPE: j.entityType.toUpperCase(), CRM_ENTITY: j.entityId } };
    }
    const first = await rest.batch(reads);

    // which UIS chat each entity came from
    const found: Array<{ job: OpenLineJob; entity: Row; uisChatId: string }> = [];
    for (const j of jobs) {
      const k = `${j.entityType}${j.entityId}`;
      const entity = first.result[`e_${k}`] as Row | undefined;
      if (!entity) {
        const err = first.errors[`e_${k}`];
        if (err && /not found/i.test(err.error_description)) await finish(j, 'skipped', { reason: `ENTITY_NOT_FOUND: ${j.entityType} ${j.entityId} no longer exists` });
        else await later(j, `crm.${j.entityType}.get: ${err?.error ?? 'no answer'}`);
        continue;
      }
      const chatErr = first.errors[`c_${k}`];
      if (chatErr) {
        if (chatErr.error === 'CRM_CHAT_EMPTY_CRM_DATA') await finish(j, 'skipped', { reason: 'NOT_FROM_OPEN_LINE: no open-line chat behind this entity' });
        else await later(j, `imopenlines.crm.chat.getLastId: ${chatErr.error}`);
        continue;
      }
      const chat = await deps.bridge.chatByB24(memberId, String(first.result[`c_${k}`]));
      if (!chat) {
        // the bridge learns the open-line chat from imconnector's answer, which may land just after the event
        if (j.attempts + 1 < chatRetries) await later(j, 'waiting for the bridge to know the open-line chat');
        else await finish(j, 'skipped', { reason: 'NOT_UIS_CHAT: the open-line chat did not come through the UIS OMNI connector' });
        continue;
      }
      found.push({ job: j, entity, uisChatId: chat.uisChatId });
    }
    if (!found.length) return;

    // the chats' fields from UIS (campaign, source, UTM, site…); without them what the callbacks told is written
    const link = await deps.links.get(memberId);
    let rows = new Map<string, Row>();
    let zone = 'Europe/Moscow';
    let reportNote: string | null = null;
    if (link) {
      const api = dataApiForLink(link, deps.uisEndpoints, deps.fetch);
      try {
        zone = await zoneOf(memberId, api);
        rows = await reportRows(api, zone, [...new Set(found.map((f) => f.uisChatId))]);
      } catch (e) {
        if (e instanceof UisApiError && e.transient) {
          for (const f of found) await later(f.job, `get.chats_report: ${e.message}`);
          return;
        }
        reportNote = `UIS_REPORT_UNAVAILABLE: ${(e as Error).message}`;
      }
    } else reportNote = 'UIS_NOT_LINKED: only what the bridge knows was written';

    // the contacts and companies the entities are linked to, when fields go there
    const wantContact = fields.some((f) => f.entity === 'contact');
    const wantCompany = fields.some((f) => f.entity === 'company');
    const linked: Record<string, BatchCall> = {};
    for (const { job, entity } of found) {
      const k = `${job.entityType}${job.entityId}`;
      const contactId = idOf(entity.CONTACT_ID);
      const companyId = idOf(entity.COMPANY_ID);
      if (wantContact && contactId) linked[`k_${k}`] = { method: 'crm.contact.get', params: { id: contactId } };
      if (wantCompany && companyId) linked[`m_${k}`] = { method: 'crm.company.get', params: { id: companyId } };
    }
    const second = Object.keys(linked).length ? await rest.batch(linked) : { result: {} as Record<string, unknown>, errors: {} };

    const writes: Record<string, BatchCall> = {};
    const plan = new Map<string, { job: OpenLineJob; uisChatId: string; fields: string[]; commands: string[] }>();
    const now = deps.clock.now();
    for (const { job, entity, uisChatId } of found) {
      const k = `${job.entityType}${job.entityId}`;
      const chat = await deps.bridge.chatByB24(memberId, String(first.result[`c_${k}`]));
      const visitor = chat?.visitorId ? await deps.bridge.visitor(memberId, chat.visitorId) : null;
      const channel = chat ? await deps.channels.get(memberId, chat.channelId) : null;
      const facts = chatFacts({
        request: { requestId: uisChatId, event: 'received', channelId: chat?.channelId ?? null, startedAt: null },
        messages: [],
        report: rows.get(uisChatId) ?? null,
        visitor: visitor ? { name: visitor.name, phone: visitor.phone, email: visitor.email } : null,
        channel: channel ? { type: channel.type, name: channel.name } : null,
        openLineDriven: true,
        now,
        timeZone: zone,
      });
      const vars = templateVars(facts, zone);
      const p = { job, uisChatId, fields: [] as string[], commands: [] as string[] };
      const target = (entityType: 'lead' | 'deal' | 'contact' | 'company', id: number | null, current: Row | undefined, key: string) => {
        if (!id || !current) return;
        const w = openLineFieldWrites(fields, vars, entityType, current);
        if (!Object.keys(w).length) return;
        writes[key] = { method: `crm.${entityType}.update`, params: { id, fields: w } };
        p.commands.push(key);
        p.fields.push(...Object.keys(w).map((f) => (entityType === job.entityType ? f : `${entityType}.${f}`)));
      };
      target(job.entityType, job.entityId, entity, `w_${k}`);
      target('contact', idOf(entity.CONTACT_ID), second.result[`k_${k}`] as Row | undefined, `wk_${k}`);
      target('company', idOf(entity.COMPANY_ID), second.result[`m_${k}`] as Row | undefined, `wm_${k}`);
      plan.set(k, p);
    }
    const keys = Object.keys(writes);
    const answers: { result: Record<string, unknown>; errors: Record<string, { error: string; error_description: string }> } = { result: {}, errors: {} };
    for (let i = 0; i < keys.length; i += MAX_BATCH) {
      const r = await rest.batch(Object.fromEntries(keys.slice(i, i + MAX_BATCH).map((x) => [x, writes[x]!])));
      Object.assign(answers.result, r.result);
      Object.assign(answers.errors, r.errors);
    }
    for (const p of plan.values()) {
      const failed = p.commands.map((c) => answers.errors[c]).find(Boolean);
      if (failed) await later(p.job, `${failed.error}: ${failed.error_description}`);
      else await finish(p.job, 'done', { uisChatId: p.uisChatId, written: p.fields, reason: p.fields.length ? reportNote : (reportNote ?? 'NOTHING_TO_WRITE: every mapped field already holds its value') });
    }
  }

  async function processPortal(memberId: string): Promise<void> {
    const jobs = await deps.openLines.due(memberId, deps.clock.now(), 200);
    if (!jobs.length) return;
    const cfg = await deps.openLines.getSettings(memberId);
    if (!cfg?.settings.enabled) {
      for (const j of jobs) await finish(j, 'skipped', { reason: 'OPEN_LINES_OFF: the «Открытые линии» tab was switched off' });
      return;
    }
    const per = Math.floor(MAX_BATCH / PER_JOB);
    for (let i = 0; i < jobs.length; i += per) {
      const group = jobs.slice(i, i + per);
      try {
        await processGroup(memberId, group, cfg.settings.fields);
      } catch (e) {
        if (e instanceof ReauthRequiredError) {
          for (const j of group) await finish(j, 'failed', { reason: 'REAUTH_REQUIRED: an administrator must open the app again' });
          return;
        }
        log.warn({ memberId, err: e }, 'open-line fields postponed');
        for (const j of group) await later(j, (e as Error).message);
      }
    }
  }

  const loop = createJobLoop({
    name: 'open-lines',
    clock: deps.clock,
    log,
    debounceMs: o.gatherMs ?? 500,
    portalsWithDueJobs: (now) => deps.openLines.portalsWithDueJobs(now),
    nextDueAt: () => deps.openLines.nextDueAt(),
    processPortal,
    lease: deps.gateway.leases,
  });
  return { wake: () => loop.wake(), drain: () => loop.drain(), stop: () => loop.stop(), idle: () => loop.idle() };
}
