import { CRM_CHANNELS, type CrmRulesSettings, type Filter } from '../../contracts/crm-rules';
import type { CrmDirectory, CrmRulesKind, CrmRulesView, DrivenChannel, TemplatePreview, TemplatePreviewRequest } from '../../contracts/crm-settings';
import { withoutOpenLineChannels } from '../../domain/crm-rules/open-lines';
import { EXAMPLE_VARS, previewTemplate } from '../../domain/crm-rules/template-vars';
import { badRequest } from '../../domain/errors';
import type { AsyncPort } from '../async-port';
import type { UisLinkRepository } from '../ports';
import type { UisChannelRepository } from '../workspace-ports';
import { crmDirectory, type CrmDirectoryDeps } from './directory';

export interface CrmRulesSettingsDeps extends CrmDirectoryDeps {
  links: AsyncPort<UisLinkRepository>;
  /** The Open Lines bridge's line bindings (read only). */
  bridge: { bindings(memberId: string): Promise<Array<{ lineId: string; channelId: string; status: 'active' | 'off' }>> };
  workspace: { channels: AsyncPort<UisChannelRepository> };
}

const noFilter = (): Filter => ({ join: 'and', groups: [] });
const noStage = () => ({ leadStatusId: null, dealCategoryId: null, dealStageId: null });

/** A tab nobody saved yet: off, every channel ticked, leads for primary requests, comments for repeat ones. */
export function defaultCrmRulesSettings(kind: CrmRulesKind): CrmRulesSettings {
  return {
    enabled: false,
    createEntities: true,
    channels: kind === 'chats' ? [...CRM_CHANNELS] : [],
    filter: noFilter(),
    responsible: { defaultUserId: null, rules: [] },
    primary: { entities: 'lead', activity: false },
    repeat: { entities: 'none', activity: false },
    commentPriority: 'deals',
    addToClosed: false,
    timing: 'start',
    createWithoutContacts: false,
    copyToContactCompany: false,
    notifyOnCreate: true,
    funnels: { primary: { defaults: noStage(), rules: [] }, repeat: { defaults: noStage(), rules: [] } },
    templates: { lead: '', deal: '' },
    fields: [],
  };
}

/**
 * Channels an open line drives now: the bridge's active bindings, typed through the UIS channels
 * of the linked account. A binding whose channel UIS no longer lists is skipped (nothing drives it).
 */
export async function drivenChannels(deps: CrmRulesSettingsDeps, memberId: string): Promise<DrivenChannel[]> {
  const link = await deps.links.get(memberId);
  const bindings = (await deps.bridge.bindings(memberId)).filter((b) => b.status === 'active');
  if (!link?.connectionId || !bindings.length) return [];
  const channels = await deps.workspace.channels.list(memberId, link.connectionId);
  return bindings.flatMap((b) => {
    const ch = channels.find((c) => c.channelId === b.channelId);
    return ch ? [{ type: ch.type, name: ch.name, lineId: b.lineId }] : [];
  });
}

/** A tab's settings and state; on «Чаты» the channels an open line drives are shown switched off (they are). */
export async function crmRulesView(deps: CrmRulesSettingsDeps, memberId: string, kind: CrmRulesKind): Promise<CrmRulesView> {
  const stored = await deps.crmRules.get(memberId, kind);
  const settings = stored?.settings ?? defaultCrmRulesSettings(kind);
  const openLines = kind === 'chats' ? await drivenChannels(deps, memberId) : [];
  const types = openLines.map((d) => d.type);
  return {
    kind,
    settings: types.length ? { ...settings, channels: withoutOpenLineChannels(settings.channels, types) } : settings,
    saved: stored !== null,
    updatedAt: stored?.updatedAt ?? null,
    openLines,
  };
}

/**
 * An open line now drives a channel of this type: «Чаты» stop processing it and its tick is
 * removed from the saved settings (seed 002: a channel connected to an open line «автоматически
 * выключили … в списке», and switching the line off again «обратно чаты НЕ включаются»).
 * Resolves true when the saved settings had it.
 */
export async function dropOpenLineChannel(deps: Pick<CrmRulesSettingsDeps, 'crmRules'>, memberId: string, type: string): Promise<boolean> {
  // one atomic change of the stored settings: an admin's save at the same moment is not lost
  return deps.crmRules.removeChannel(memberId, 'chats', type);
}

/** Ids the rules name that the portal's CRM does not have (stale after a funnel or a user was removed). */
export function directoryProblems(s: CrmRulesSettings, d: CrmDirectory): string[] {
  const problems: string[] = [];
  const users = new Set(d.users.map((u) => u.id));
  const user = (id: number | null, path: string) => {
    if (id !== null && !users.has(id)) problems.push(`${path}: user ${id} is not an active employee of the portal`);
  };
  user(s.responsible.defaultUserId, 'responsible.defaultUserId');
  s.responsible.rules.forEach((r, i) => user(r.userId, `responsible.rules.${i}.userId`));
  const leadStatuses = new Set(d.leadStatuses.map((x) => x.id));
  for (const kind of ['primary', 'repeat'] as const) {
    const creates = s[kind].entities;
    const lead = creates === 'lead' || creates === 'lead_deal';
    const deal = creates === 'deal' || creates === 'lead_deal';
    const targets = [['defaults', s.funnels[kind].defaults] as const, ...s.funnels[kind].rules.map((r, i) => [`rules.${i}`, r] as const)];
    for (const [where, t] of targets) {
      const path = `funnels.${kind}.${where}`;
      if (lead && t.leadStatusId !== null && !leadStatuses.has(t.leadStatusId)) problems.push(`${path}.leadStatusId: «${t.leadStatusId}» is not a lead status of the portal`);
      if (!deal || t.dealCategoryId === null) continue;
      const cat = d.dealCategories.find((c) => c.id === t.dealCategoryId);
      if (!cat) problems.push(`${path}.dealCategoryId: funnel ${t.dealCategoryId} does not exist`);
      else if (t.dealStageId !== null && !cat.stages.some((st) => st.id === t.dealStageId)) {
        problems.push(`${path}.dealStageId: «${t.dealStageId}» is not a stage of the funnel «${cat.name}»`);
      }
    }
  }
  s.fields.forEach((f, i) => {
    if (!d.fields[f.entity].some((x) => x.id === f.b24Field)) problems.push(`fields.${i}.b24Field: ${f.b24Field} is not a text field of the ${f.entity}`);
  });
  return problems;
}

/**
 * Saves one tab. Offline requests have no channels. On «Чаты» a channel an open line drives is
 * dropped, not refused (seed 001: Open Lines and configured Chats never process the same channel;
 * seed 002: the integration switches it off in the list itself): a page opened before the line
 * was connected can still save its other changes. With the rules on, every user, funnel, stage
 * and field is checked against the portal's CRM.
 */
export async function saveCrmRules(deps: CrmRulesSettingsDeps, memberId: string, kind: CrmRulesKind, input: CrmRulesSettings): Promise<CrmRulesView> {
  const channels = CRM_CHANNELS.filter((c) => input.channels.includes(c));
  const s: CrmRulesSettings =
    kind === 'offline' ? { ...input, channels: [] } : { ...input, channels: withoutOpenLineChannels(channels, (await drivenChannels(deps, memberId)).map((d) => d.type)) };
  if (s.enabled && s.createEntities) {
    const problems = directoryProblems(s, await crmDirectory(deps, memberId));
    if (problems.length) throw badRequest('VALIDATION_FAILED', problems.join('; '));
  }
  await deps.crmRules.save(memberId, kind, s);
  if (kind === 'chats') {
    // A line bound between the read above and this save (another instance, another request) may
    // have unticked its channel before the save wrote it ticked again: the lines are read once
    // more, after the write, and such a tick is taken off. A bind after this read unticks it itself.
    for (const d of await drivenChannels(deps, memberId)) if ((s.channels as readonly string[]).includes(d.type)) await dropOpenLineChannel(deps, memberId, d.type);
  }
  return crmRulesView(deps, memberId, kind);
}

/** Titles the templates give on the example chat (an empty template previews the built-in one). */
export function previewTemplates(req: TemplatePreviewRequest): TemplatePreview {
  const kind = req.kind === 'chats' ? 'chat' : 'offline';
  return { lead: previewTemplate(req.templates.lead, kind), deal: previewTemplate(req.templates.deal, kind), example: EXAMPLE_VARS };
}
