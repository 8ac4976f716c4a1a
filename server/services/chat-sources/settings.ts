import {
  DEFAULT_AMO_SETTINGS,
  DEFAULT_JIVO_SETTINGS,
  amoSettingsSchema,
  jivoSettingsSchema,
  type AmoSettings,
  type AmoView,
  type ChatSource,
  type ChatSourcesView,
  type JivoSettings,
  type JivoView,
} from '../../contracts/chat-sources';
import type { Attribution } from '../../contracts/analytics';
import { AMO_SCRIPT_VERSION, JIVO_SCRIPT_VERSION, amoSiteScript, jivoSiteScript } from '../../domain/chat-sources/site-scripts';
import { badRequest } from '../../domain/errors';
import { loadAnalyticsLists } from '../analytics/settings';
import { amoFields } from './amo-connect';
import { ensureHookSecret } from './hook-secret';
import { amoHookUrl, jivoHookUrl, type ChatSourcesDeps } from './deps';
import { sourceState } from './health';

/**
 * «Источники чатов»: the settings of each source, its «Webhook url» (a per-account secret in the
 * path, made on first save or connect), the site script once enabled, and its state.
 */
export async function loadJivoSettings(deps: Pick<ChatSourcesDeps, 'sources'>, memberId: string): Promise<{ settings: JivoSettings; hookSecret: string | null }> {
  const r = await deps.sources.getSettings(memberId, 'jivo');
  return { settings: (r && jivoSettingsSchema.safeParse(r.settings).data) || DEFAULT_JIVO_SETTINGS, hookSecret: r?.hookSecret ?? null };
}

export async function loadAmoSettings(deps: Pick<ChatSourcesDeps, 'sources'>, memberId: string): Promise<{ settings: AmoSettings; hookSecret: string | null }> {
  const r = await deps.sources.getSettings(memberId, 'amocrm');
  return { settings: (r && amoSettingsSchema.safeParse(r.settings).data) || DEFAULT_AMO_SETTINGS, hookSecret: r?.hookSecret ?? null };
}

const mappedIn = (m: Record<string, unknown>) => (key: string) => Object.hasOwn(m, key);

export async function jivoView(deps: ChatSourcesDeps, memberId: string): Promise<JivoView> {
  const { settings, hookSecret } = await loadJivoSettings(deps, memberId);
  return {
    settings,
    webhookUrl: hookSecret ? jivoHookUrl(deps.appUrl, hookSecret) : '',
    script: hookSecret && settings.enabled ? { version: JIVO_SCRIPT_VERSION, code: jivoSiteScript() } : null,
    state: await sourceState(deps.sources, memberId, 'jivo', mappedIn(settings.messengers)),
  };
}

export async function amoView(deps: ChatSourcesDeps, memberId: string): Promise<AmoView> {
  const [{ settings, hookSecret }, conn] = await Promise.all([loadAmoSettings(deps, memberId), deps.amoAccounts.get(memberId)]);
  return {
    settings,
    connection: conn
      ? {
          name: conn.name,
          domain: new URL(conn.origin).host,
          accountId: conn.accountId,
          connectedAt: new Date(conn.connectedAt).toISOString(),
          status: conn.status,
          statusReason: conn.statusReason,
          webhook: conn.webhook,
        }
      : null,
    webhookUrl: hookSecret ? amoHookUrl(deps.appUrl, hookSecret) : '',
    script: settings.enabled && settings.sessionField ? { version: AMO_SCRIPT_VERSION, code: amoSiteScript(settings.sessionField) } : null,
    state: await sourceState(deps.sources, memberId, 'amocrm', mappedIn(settings.messengers)),
  };
}

export async function chatSourcesView(deps: ChatSourcesDeps, memberId: string): Promise<ChatSourcesView> {
  const [jivo, amocrm] = await Promise.all([jivoView(deps, memberId), amoView(deps, memberId)]);
  return { jivo, amocrm };
}

/** Every chosen UIS id checked against the live account (a stale id would fail every upload). */
async function checkUisIds(deps: ChatSourcesDeps, memberId: string, s: { defaults: Attribution; messengers: Record<string, Attribution> }, employeeId: number | null): Promise<void> {
  const lists = await loadAnalyticsLists(deps, memberId);
  const has = (list: Array<{ id: number }>, id: number | null) => id === null || list.some((x) => x.id === id);
  const problems: string[] = [];
  if (!has(lists.employees, employeeId)) problems.push(`employeeId ${employeeId} is not an employee of the UIS account`);
  for (const [path, a] of [['defaults', s.defaults] as const, ...Object.entries(s.messengers).map(([k, v]) => [`messengers.${k}`, v] as const)]) {
    if (!has(lists.sites, a.siteId)) problems.push(`${path}.siteId ${a.siteId} is not a site of the account`);
    if (!has(lists.sources, a.sourceId)) problems.push(`${path}.sourceId ${a.sourceId} is not a source of the account`);
    if (!has(lists.campaigns, a.campaignId)) problems.push(`${path}.campaignId ${a.campaignId} is not a campaign of the account`);
  }
  if (problems.length) throw badRequest('VALIDATION_FAILED', problems.join('; '));
}

/**
 * Saving is what the admin does after the fix a UIS refusal names (an employee, site, source or
 * campaign that no longer exists): the conversations UIS refused go again with the saved settings,
 * and the refusal stops being the source's last error (noted again if UIS still refuses).
 */
async function retryRefused(deps: ChatSourcesDeps, memberId: string, source: ChatSource): Promise<void> {
  if (!(await deps.sources.retryFailed(memberId, source, 'UIS_REJECTED', deps.clock.now()))) return;
  await deps.sources.resolveErrors(memberId, source, ['UIS_REJECTED']);
  deps.wake();
}

export async function saveJivoSettings(deps: ChatSourcesDeps, memberId: string, s: JivoSettings): Promise<JivoView> {
  if (s.enabled) await checkUisIds(deps, memberId, s, s.employeeId);
  const secret = await ensureHookSecret(deps, memberId, 'jivo');
  await deps.sources.saveSettings(memberId, 'jivo', s, secret);
  if (s.enabled) await retryRefused(deps, memberId, 'jivo');
  return jivoView(deps, memberId);
}

export async function saveAmoSettings(deps: ChatSourcesDeps, memberId: string, s: AmoSettings): Promise<AmoView> {
  if (s.enabled) {
    const conn = await deps.amoAccounts.get(memberId);
    if (!conn) throw badRequest('AMO_NOT_CONNECTED', 'Connect an amoCRM account first («Подключить учетную запись»)');
    await checkUisIds(deps, memberId, s, null);
    const fields = await amoFields(deps, memberId);
    const f = s.sessionField;
    if (f && !fields.some((x) => x.entity === f.entity && x.id === f.fieldId)) throw badRequest('VALIDATION_FAILED', `sessionField ${f.entity}.${f.fieldId} is not a text field of the amoCRM account`);
  }
  const secret = await ensureHookSecret(deps, memberId, 'amocrm');
  await deps.sources.saveSettings(memberId, 'amocrm', s, secret);
  if (s.enabled) await retryRefused(deps, memberId, 'amocrm');
  return amoView(deps, memberId);
}
