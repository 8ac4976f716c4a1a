import {
  CALL_EVENT_NAMES,
  CALL_EVENT_TYPES,
  callEventTemplate,
  type CallEventSetup,
  type PersonalManagerSetup,
  type TelephonyLists,
  type TelephonyView,
} from '../../contracts/telephony';
import { defaultTelephonySettings, type CallTemplatePreview, type CallTemplatePreviewRequest, type TelephonySettings } from '../../contracts/telephony-settings';
import type { UisProject } from '../../contracts/uis';
import { EXAMPLE_CALL_VARS, previewCallTemplate } from '../../domain/crm-rules/call-templates';
import { telephonyDirectoryProblems } from '../../domain/crm-rules/call-settings-check';
import { AppError, badRequest } from '../../domain/errors';
import type { Logger } from '../../logging';
import { dataApiForLink } from '../../uis/data-api';
import { UisApiError } from '../../uis/errors';
import { crmDirectory, type CrmDirectoryDeps } from '../crm-rules/directory';
import { readUisEmployees } from '../uis-employees';
import type { AsyncPort } from '../async-port';
import type { UisEndpoints, UisLinkRepository } from '../ports';
import { hookTokenOf, newHookToken } from './intake';
import { syncLines, type LinesDeps } from './lines';
import type { TelephonyRepository } from './ports';
import type { PersonalManagerRepository } from '../personal-manager/ports';
import type { TelephonyStartRepository } from './start-ports';

export interface TelephonySettingsDeps extends CrmDirectoryDeps, LinesDeps {
  telephony: TelephonyRepository;
  /** the personal-manager forwarding (issue #14): whether UIS asks */
  personalManager?: { map: Pick<PersonalManagerRepository, 'asks'> };
  /** calls from Bitrix24 (issue #14): the tab lists the last ones that could not start */
  telephonyStarts?: TelephonyStartRepository;
  links: AsyncPort<UisLinkRepository>;
  uisEndpoints(project: UisProject): UisEndpoints;
  appUrl: string;
  log: Logger;
  fetch?: typeof fetch;
}

const iso = (ms: number | null | undefined) => (ms === null || ms === undefined ? null : new Date(ms).toISOString());

/** The notification URL of an event type: `<APP_URL>/uis/calls/<secret>/<type>`. */
export function notificationUrl(appUrl: string, token: string, type: string): string {
  return `${appUrl.replace(/\/+$/, '')}/uis/calls/${token}/${type}`;
}

/** The URL UIS interactive call processing asks for the caller's personal manager: `<APP_URL>/uis/manager/<secret>`. */
export function personalManagerUrl(appUrl: string, token: string): string {
  return `${appUrl.replace(/\/+$/, '')}/uis/manager/${token}`;
}

/**
 * The tab: settings, what to configure in UIS (per event type: method, URL with the portal's
 * secret, body template — admins only, the URL is a secret) and which event types have arrived,
 * the reconciliation, the lines, the calls followed.
 */
export async function telephonyView(deps: TelephonySettingsDeps, memberId: string, o: { admin: boolean }): Promise<TelephonyView> {
  const [stored, arrivals, cursor, lines, calls, failures, link] = await Promise.all([
    deps.telephony.getSettings(memberId),
    deps.telephony.arrivals(memberId),
    deps.telephony.reconcileCursor(memberId),
    deps.telephony.lines(memberId),
    deps.telephony.counts(memberId),
    deps.telephonyStarts?.failures(memberId, 10) ?? [],
    deps.links.get(memberId),
  ]);
  let notifications: CallEventSetup[] = [];
  let personalManager: PersonalManagerSetup | null = null;
  if (o.admin) {
    const token = await hookTokenOf(deps.telephony, memberId);
    const asks = await deps.personalManager?.map.asks(memberId);
    const asked = asks ? { count: asks.asked, withManager: asks.withManager, lastAt: iso(asks.lastAt)!, lastOutcome: asks.lastOutcome } : null;
    personalManager = { url: personalManagerUrl(deps.appUrl, token), method: 'POST', params: ['numa', 'numb', 'call_session_id'], waitSeconds: 3, asked };
    notifications = CALL_EVENT_TYPES.map((type) => {
      const a = arrivals.find((x) => x.eventType === type);
      return {
        type,
        name: CALL_EVENT_NAMES[type],
        method: 'POST',
        url: notificationUrl(deps.appUrl, token, type),
        contentType: 'application/json',
        body: callEventTemplate(type),
        arrived: a ? { count: a.received, lastAt: iso(a.lastAt)! } : null,
      };
    });
  }
  return {
    settings: stored?.settings ?? defaultTelephonySettings(),
    saved: stored !== null,
    updatedAt: stored?.updatedAt ?? null,
    linked: !!link,
    notifications,
    reconcile: { lastRunAt: iso(cursor?.lastRunAt), recovered: cursor?.recovered ?? 0, lastError: cursor?.lastError ?? null },
    lines: { numbers: lines?.numbers ?? [], syncedAt: iso(lines?.syncedAt), lastError: lines?.lastError ?? null },
    calls,
    personalManager,
    startFailures: failures.map((f) => ({ kind: f.kind, phone: f.phone, userId: f.userId, code: f.errorCode ?? 'UNKNOWN', reason: f.error ?? '', at: iso(f.createdAt)! })),
  };
}

/**
 * Saves the tab. With the tab on, every user, funnel, stage and field is checked against the
 * portal's CRM (a stale id would fail every call); then the lines are brought in step with the
 * account's numbers (a failure there is shown on the tab, the settings are saved all the same).
 */
export async function saveTelephony(deps: TelephonySettingsDeps, memberId: string, s: TelephonySettings): Promise<TelephonyView> {
  if (s.enabled) {
    const problems = telephonyDirectoryProblems(s, await crmDirectory(deps, memberId));
    if (problems.length) throw badRequest('VALIDATION_FAILED', problems.join('; '));
  }
  await deps.telephony.saveSettings(memberId, s);
  if (s.enabled) {
    await syncLines(deps, memberId).catch((e: unknown) => deps.log.warn({ memberId, code: (e as { code?: string }).code }, 'external lines not in step with UIS'));
  }
  return telephonyView(deps, memberId, { admin: true });
}

export function previewCallTemplates(req: CallTemplatePreviewRequest): CallTemplatePreview {
  return { lead: previewCallTemplate(req.templates.lead, req.direction), deal: previewCallTemplate(req.templates.deal, req.direction), example: EXAMPLE_CALL_VARS };
}

type Row = Record<string, unknown>;
const named = (rows: Row[], id: string, name: string) =>
  rows.flatMap((r) => (r[id] === null || r[id] === undefined ? [] : [{ id: Number(r[id]), name: String(r[name] ?? r[id]) }])).filter((x) => Number.isFinite(x.id));

/** Virtual numbers, scenarios and their operations, groups, employees, campaigns, sites and sources, live from UIS. */
export async function loadTelephonyLists(deps: TelephonySettingsDeps, memberId: string): Promise<TelephonyLists> {
  const link = await deps.links.get(memberId);
  if (!link) throw badRequest('UIS_NOT_LINKED', 'Link a UIS account on the «Главная» tab first');
  const api = dataApiForLink(link, deps.uisEndpoints, deps.fetch);
  try {
    const call = async (method: string, fields: string[]) => {
      const r = await api.call<Row[]>(method, { fields });
      return Array.isArray(r.data) ? r.data : [];
    };
    const [vns, scenarios, employees, campaigns, sites, sources] = await Promise.all([
      call('get.virtual_numbers', ['virtual_phone_number', 'name', 'status']),
      call('get.scenarios', ['id', 'name', 'operations']),
      readUisEmployees(api),
      call('get.campaigns', ['id', 'name']),
      call('get.sites', ['id', 'domain_name']),
      call('get.sources', ['id', 'name']),
    ]);
    const groups = new Map<number, string>();
    for (const e of employees) for (const g of e.groups) groups.set(g.id, g.name);
    return {
      virtualNumbers: vns.map((v) => ({ number: String(v.virtual_phone_number ?? ''), name: String(v.name ?? v.virtual_phone_number ?? '') })).filter((v) => v.number),
      scenarios: named(scenarios, 'id', 'name'),
      operations: scenarios.flatMap((s) => named(Array.isArray(s.operations) ? (s.operations as Row[]) : [], 'id', 'name').map((o) => ({ ...o, scenario: String(s.name ?? s.id) }))),
      groups: [...groups].map(([id, name]) => ({ id, name })).sort((a, b) => a.name.localeCompare(b.name)),
      employees: employees.flatMap((e) => (Number.isFinite(e.id) ? [{ id: e.id, name: e.fullName ?? String(e.id) }] : [])),
      campaigns: named(campaigns, 'id', 'name'),
      sites: named(sites, 'id', 'domain_name'),
      sources: named(sources, 'id', 'name'),
    };
  } catch (e) {
    if (e instanceof UisApiError && e.transient) throw new AppError('UIS_UNAVAILABLE', 'UIS is not reachable right now; try again in a minute', 503);
    throw badRequest('UIS_DATA_API_REFUSED', `UIS refused to list the account data: ${(e as Error).message}`);
  }
}

/** A new secret for the notification URL (the old URLs stop working at once). */
export async function rotateHook(deps: TelephonySettingsDeps, memberId: string): Promise<TelephonyView> {
  await deps.telephony.saveHookToken(memberId, newHookToken());
  return telephonyView(deps, memberId, { admin: true });
}
