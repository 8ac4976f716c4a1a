import { z } from 'zod';
import {
  analyticsJobViewSchema,
  analyticsListsSchema,
  analyticsSettingsSchema,
  analyticsViewSchema,
  ANALYTICS_CONNECTORS,
  type AnalyticsConnector,
  type AnalyticsJobView,
  type AnalyticsLists,
  type AnalyticsSettings,
  type AnalyticsView,
  type Attribution,
} from '../../server/contracts/analytics';
import { apiRequest, ApiRequestError, type ApiContext } from './api-request';

const PATH = '/api/analytics';
const JSON_HEADERS = { Accept: 'application/json' };

/** Why a field of the settings cannot be saved (the page words it; see analyticsIssues). */
export type AnalyticsIssueCode = 'required' | 'tooLong' | 'siteMissing' | 'invalid';

/**
 * One problem, keyed by the form field it belongs to: `employeeId`, `defaults.siteId`,
 * `defaults.sourceId`, `defaults.campaignId`, `messengers.<connector>` (the whole row), `webhookToken`,
 * or `path` as is for anything else.
 */
export interface AnalyticsIssue {
  field: string;
  code: AnalyticsIssueCode;
  /** The limit for `tooLong`. */
  max?: number;
}

const EMPTY: Attribution = { sourceId: null, siteId: null, campaignId: null };

/**
 * The settings as they will be stored: the token trimmed (blank = none), only the choice the traffic
 * type uses kept (a campaign is ignored for «source and site», and vice versa), empty messenger rows
 * dropped, rows in the contract's connector order. Comparing two normalized settings tells whether
 * anything that matters changed.
 */
export function normalizeAnalyticsSettings(s: AnalyticsSettings): AnalyticsSettings {
  const keep = (a: Attribution): Attribution =>
    s.trafficType === 'campaign'
      ? { sourceId: null, siteId: null, campaignId: a.campaignId ?? null }
      : { sourceId: a.sourceId ?? null, siteId: a.siteId ?? null, campaignId: null };
  const messengers: AnalyticsSettings['messengers'] = {};
  for (const connector of ANALYTICS_CONNECTORS) {
    const row = s.messengers[connector];
    if (!row) continue;
    const kept = keep(row);
    if (kept.sourceId !== null || kept.siteId !== null || kept.campaignId !== null) messengers[connector] = kept;
  }
  const token = s.webhookToken?.trim() ?? '';
  return {
    enabled: s.enabled,
    employeeId: s.employeeId ?? null,
    trafficType: s.trafficType,
    defaults: keep(s.defaults ?? EMPTY),
    messengers,
    webhookToken: token === '' ? null : token,
  };
}

function issueFor(issue: z.core.$ZodIssue): AnalyticsIssue {
  const [head, second] = issue.path.map(String);
  const field = head === 'messengers' && second ? `messengers.${second}` : issue.path.map(String).join('.') || '(settings)';
  if (issue.code === 'too_big') return { field, code: 'tooLong', max: Number(issue.maximum) };
  if (issue.code === 'custom' || issue.code === 'invalid_type') return { field, code: 'required' };
  return { field, code: 'invalid' };
}

/**
 * What stops these settings from being saved, one issue per field (first one wins): the contract's
 * `analyticsSettingsSchema` (employee and the default's site/campaign when enabled, token length),
 * plus a messenger row with a source but no site — the server would silently fall back to the
 * default for such a row, so the page asks for the site instead.
 */
export function analyticsIssues(settings: AnalyticsSettings): AnalyticsIssue[] {
  const s = normalizeAnalyticsSettings(settings);
  const found = new Map<string, AnalyticsIssue>();
  const parsed = analyticsSettingsSchema.safeParse(s);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const mapped = issueFor(issue);
      if (!found.has(mapped.field)) found.set(mapped.field, mapped);
    }
  }
  if (s.trafficType === 'source') {
    for (const connector of Object.keys(s.messengers) as AnalyticsConnector[]) {
      const row = s.messengers[connector]!;
      const field = `messengers.${connector}`;
      if (row.sourceId !== null && row.siteId === null && !found.has(field)) found.set(field, { field, code: 'siteMissing' });
    }
  }
  return [...found.values()];
}

async function readJson<T>(res: Response, schema: z.ZodType<T>, what: string): Promise<T> {
  const parsed = schema.safeParse(await res.json().catch(() => null));
  if (!parsed.success) throw new ApiRequestError('BAD_RESPONSE', `The server sent an unexpected ${what}.`, res.status);
  return parsed.data;
}

/** GET /api/analytics: the saved settings, the webhook URL and (once enabled) the site script. */
export async function getAnalytics(ctx: ApiContext): Promise<AnalyticsView> {
  return readJson(await apiRequest(ctx, PATH, { headers: JSON_HEADERS }), analyticsViewSchema, 'analytics settings description');
}

/**
 * PUT /api/analytics (admins only): saves the settings, normalized first; answers the saved view.
 * Invalid settings never reach the server.
 * @throws ApiRequestError `VALIDATION_FAILED` naming the fields, else as apiRequest does (the
 *   server's `{error, message}`: `VALIDATION_FAILED`, `UIS_NOT_LINKED`, `UIS_UNAVAILABLE`, `NOT_ADMIN`, …).
 */
export async function saveAnalytics(ctx: ApiContext, settings: AnalyticsSettings): Promise<AnalyticsView> {
  const body = normalizeAnalyticsSettings(settings);
  const issues = analyticsIssues(body);
  if (issues.length > 0) {
    throw new ApiRequestError('VALIDATION_FAILED', issues.map((i) => `${i.field}: ${i.code}`).join('; '));
  }
  const res = await apiRequest(ctx, PATH, {
    method: 'PUT',
    headers: { ...JSON_HEADERS, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  return readJson(res, analyticsViewSchema, 'analytics settings description');
}

/** GET /api/analytics/lists (admins only): employees, sites, sources and campaigns, live from UIS. */
export async function getAnalyticsLists(ctx: ApiContext): Promise<AnalyticsLists> {
  return readJson(await apiRequest(ctx, `${PATH}/lists`, { headers: JSON_HEADERS }), analyticsListsSchema, 'UIS lists');
}

/** GET /api/analytics/jobs: recent leads/deals and what happened to each. */
export async function getAnalyticsJobs(ctx: ApiContext): Promise<AnalyticsJobView[]> {
  return readJson(await apiRequest(ctx, `${PATH}/jobs`, { headers: JSON_HEADERS }), z.array(analyticsJobViewSchema), 'list of analytics jobs');
}

/** The analytics calls bound to one page's session (the shape `ApiClient` can take them over in). */
export interface AnalyticsApi {
  getAnalytics(): Promise<AnalyticsView>;
  saveAnalytics(settings: AnalyticsSettings): Promise<AnalyticsView>;
  getAnalyticsLists(): Promise<AnalyticsLists>;
  getAnalyticsJobs(): Promise<AnalyticsJobView[]>;
}

export function createAnalyticsApi(ctx: ApiContext): AnalyticsApi {
  return {
    getAnalytics: () => getAnalytics(ctx),
    saveAnalytics: (settings) => saveAnalytics(ctx, settings),
    getAnalyticsLists: () => getAnalyticsLists(ctx),
    getAnalyticsJobs: () => getAnalyticsJobs(ctx),
  };
}
