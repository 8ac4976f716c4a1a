import { randomBytes } from 'node:crypto';
import type { AnalyticsLists, AnalyticsSettings, AnalyticsView } from '../../contracts/analytics';
import { analyticsSiteScript, SCRIPT_VERSION } from '../../domain/analytics-script';
import { badRequest } from '../../domain/errors';
import { dataApiForLink } from '../../uis/data-api';
import { UisApiError } from '../../uis/errors';
import type { AsyncPort } from '../async-port';
import type { AnalyticsRepository, UisEndpoints, UisLinkRepository } from '../ports';
import type { UisProject } from '../../contracts/uis';
import { AppError } from '../../domain/errors';
import { readUisEmployees } from '../uis-employees';

export interface AnalyticsSettingsDeps {
  analytics: AsyncPort<AnalyticsRepository>;
  links: AsyncPort<UisLinkRepository>;
  uisEndpoints(project: UisProject): UisEndpoints;
  appUrl: string;
  fetch?: typeof fetch;
}

export const DEFAULT_ANALYTICS_SETTINGS: AnalyticsSettings = {
  enabled: false,
  employeeId: null,
  trafficType: 'source',
  defaults: { sourceId: null, siteId: null, campaignId: null },
  messengers: {},
  webhookToken: null,
};

export async function analyticsView(deps: AnalyticsSettingsDeps, memberId: string): Promise<AnalyticsView> {
  const cfg = await deps.analytics.getSettings(memberId);
  const settings = cfg?.settings ?? DEFAULT_ANALYTICS_SETTINGS;
  return {
    settings,
    webhookUrl: cfg ? `${deps.appUrl}/b24/analytics/${cfg.hookId}` : '',
    script: cfg && settings.enabled ? { version: SCRIPT_VERSION, code: analyticsSiteScript() } : null,
  };
}

/** Employees, sites, sources and campaigns, live from the linked UIS account. */
export async function loadAnalyticsLists(deps: AnalyticsSettingsDeps, memberId: string): Promise<AnalyticsLists> {
  const link = await deps.links.get(memberId);
  if (!link) throw badRequest('UIS_NOT_LINKED', 'Link a UIS account on the «Главная» tab first');
  const api = dataApiForLink(link, deps.uisEndpoints, deps.fetch);
  try {
    const [employees, sites, sources, campaigns] = await Promise.all([
      readUisEmployees(api),
      api.call<Array<Record<string, unknown>>>('get.sites', { fields: ['id', 'domain_name'] }),
      api.call<Array<Record<string, unknown>>>('get.sources', { fields: ['id', 'name'] }),
      api.call<Array<Record<string, unknown>>>('get.campaigns', { fields: ['id', 'name', 'site_id'] }),
    ]);
    return {
      employees: employees.map((e) => ({ id: e.id, name: e.fullName ?? String(e.id) })),
      sites: sites.data.map((s) => ({ id: Number(s.id), name: String(s.domain_name ?? s.id) })),
      sources: sources.data.map((s) => ({ id: Number(s.id), name: String(s.name ?? s.id) })),
      campaigns: campaigns.data.map((c) => ({ id: Number(c.id), name: String(c.name ?? c.id), siteId: c.site_id == null ? null : Number(c.site_id) })),
    };
  } catch (e) {
    if (e instanceof UisApiError && e.transient) throw new AppError('UIS_UNAVAILABLE', 'UIS is not reachable right now; try again in a minute', 503);
    throw badRequest('UIS_DATA_API_REFUSED', `UIS refused to list the account data: ${(e as Error).message}`);
  }
}

/** Save after checking every chosen id against the live UIS lists (a stale id would fail every upload). */
export async function saveAnalyticsSettings(deps: AnalyticsSettingsDeps, memberId: string, s: AnalyticsSettings): Promise<AnalyticsView> {
  if (s.enabled) {
    const lists = await loadAnalyticsLists(deps, memberId);
    const has = (list: Array<{ id: number }>, id: number | null) => id === null || list.some((x) => x.id === id);
    const problems: string[] = [];
    if (!has(lists.employees, s.employeeId)) problems.push(`employeeId ${s.employeeId} is not an employee of the UIS account`);
    const attributions = [['defaults', s.defaults] as const, ...Object.entries(s.messengers).map(([k, v]) => [`messengers.${k}`, v!] as const)];
    for (const [path, a] of attributions) {
      if (!has(lists.sites, a.siteId)) problems.push(`${path}.siteId ${a.siteId} is not a site of the account`);
      if (!has(lists.sources, a.sourceId)) problems.push(`${path}.sourceId ${a.sourceId} is not a source of the account`);
      if (!has(lists.campaigns, a.campaignId)) problems.push(`${path}.campaignId ${a.campaignId} is not a campaign of the account`);
    }
    if (problems.length) throw badRequest('VALIDATION_FAILED', problems.join('; '));
  }
  const hookId = (await deps.analytics.getSettings(memberId))?.hookId ?? randomBytes(18).toString('base64url');
  await deps.analytics.saveSettings(memberId, s, hookId);
  return analyticsView(deps, memberId);
}
