import { CRM_CHANNELS, type CrmRulesSettings, type Filter } from '../../contracts/crm-rules';
import type { CrmDirectory, CrmRulesKind, CrmRulesView, DrivenChannel, TemplatePreview, TemplatePreviewRequest } from '../../contracts/crm-settings';
import { openLinesConflicts } from '../../domain/crm-rules/open-lines';
import { channelLabel, EXAMPLE_VARS, previewTemplate } from '../../domain/crm-rules/template-vars';
import { AppError, badRequest } from '../../domain/errors';
import type { UisLinkRepository } from '../ports';
import type { UisChannelRepository } from '../workspace-ports';
import { crmDirectory, type CrmDirectoryDeps } from './directory';

export interface CrmRulesSettingsDeps extends CrmDirectoryDeps {
  links: UisLinkRepository;
  /** The Open Lines bridge's line bindings (read only). */
  bridge: { bindings(memberId: string): Array<{ lineId: string; channelId: string; status: 'active' | 'off' }> };
  workspace: { channels: UisChannelRepository };
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
export function drivenChannels(deps: CrmRulesSettingsDeps, memberId: string): DrivenChannel[] {
  const link = deps.links.get(memberId);
  const bindings = deps.bridge.bindings(memberId).filter((b) => b.status === 'active');
  if (!link?.connectionId || !bindings.length) return [];
  const channels = deps.workspace.channels.list(memberId, link.connectionId);
  return bindings.flatMap((b) => {
    const ch = channels.find((c) => c.channelId === b.channelId);
    return ch ? [{ type: ch.type, name: ch.name, lineId: b.lineId }] : [];
  });
}

export function crmRulesView(deps: CrmRulesSettingsDeps, memberId: string, kind: CrmRulesKind): CrmRulesView {
  const stored = deps.crmRules.get(memberId, kind);
  return {
    kind,
    settings: stored?.settings ?? defaultCrmRulesSettings(kind),
    saved: stored !== null,
    updatedAt: stored?.updatedAt ?? null,
    openLines: kind === 'chats' ? drivenChannels(deps, memberId) : [],
  };
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
 * Saves one tab. Offline requests have no channels. Chats refuse a channel an open line drives
 * (seed 001: Open Lines and configured Chats never process the same channel) — unless the rules
 * are off (the «workspace + Open Lines» mode: tab on, «Создавать Лиды/Сделки/Контакты» off).
 * With the rules on, every user, funnel, stage and field is checked against the portal's CRM.
 */
export async function saveCrmRules(deps: CrmRulesSettingsDeps, memberId: string, kind: CrmRulesKind, input: CrmRulesSettings): Promise<CrmRulesView> {
  const s: CrmRulesSettings = kind === 'offline' ? { ...input, channels: [] } : { ...input, channels: CRM_CHANNELS.filter((c) => input.channels.includes(c)) };
  if (kind === 'chats') {
    const driven = drivenChannels(deps, memberId);
    const conflicts = openLinesConflicts(s, driven.map((d) => d.type));
    if (conflicts.length) {
      const lines = conflicts.map((c) => {
        const by = driven.filter((d) => d.type === c).map((d) => `open line ${d.lineId} («${d.name}»)`);
        return `${channelLabel(c)} is driven by ${by.join(', ')}`;
      });
      throw new AppError(
        'OPEN_LINES_CONFLICT',
        `channels: ${lines.join('; ')}. Untick these channels, or switch «Создавать Лиды/Сделки/Контакты» off to use the workspace next to Open Lines.`,
        400,
      );
    }
  }
  if (s.enabled && s.createEntities) {
    const problems = directoryProblems(s, await crmDirectory(deps, memberId));
    if (problems.length) throw badRequest('VALIDATION_FAILED', problems.join('; '));
  }
  deps.crmRules.save(memberId, kind, s);
  return crmRulesView(deps, memberId, kind);
}

/** Titles the templates give on the example chat (an empty template previews the built-in one). */
export function previewTemplates(req: TemplatePreviewRequest): TemplatePreview {
  const kind = req.kind === 'chats' ? 'chat' : 'offline';
  return { lead: previewTemplate(req.templates.lead, kind), deal: previewTemplate(req.templates.deal, kind), example: EXAMPLE_VARS };
}
