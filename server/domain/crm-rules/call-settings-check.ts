import type { CrmDirectory } from '../../contracts/crm-settings';
import type { StageTarget } from '../../contracts/crm-rules';
import type { TelephonySettings } from '../../contracts/telephony-settings';

/**
 * Ids the «Телефония» settings name that the portal's CRM does not have, each with its path: users
 * no longer active, funnels and stages removed, and «Доп. поля» that are not text fields («В списке
 * доступных полей отображаются только поля с типом «Текст»», seed 002 line 212 — the directory
 * lists only those). The service refuses to save with any of them.
 */
export function telephonyDirectoryProblems(s: TelephonySettings, d: CrmDirectory): string[] {
  const problems: string[] = [];
  const users = new Set(d.users.map((u) => u.id));
  const user = (id: number | null, path: string) => {
    if (id !== null && !users.has(id)) problems.push(`${path}: user ${id} is not an active employee of the portal`);
  };
  user(s.responsible.incomingDefaultUserId, 'responsible.incomingDefaultUserId');
  user(s.responsible.outgoingDefaultUserId, 'responsible.outgoingDefaultUserId');
  s.responsible.rules.forEach((r, i) => user(r.userId, `responsible.rules.${i}.userId`));
  const leadStatuses = new Set(d.leadStatuses.map((x) => x.id));
  const stage = (t: StageTarget, path: string) => {
    if (t.leadStatusId !== null && !leadStatuses.has(t.leadStatusId)) problems.push(`${path}.leadStatusId: «${t.leadStatusId}» is not a lead status of the portal`);
    if (t.dealCategoryId === null) return;
    const cat = d.dealCategories.find((c) => c.id === t.dealCategoryId);
    if (!cat) problems.push(`${path}.dealCategoryId: funnel ${t.dealCategoryId} does not exist`);
    else if (t.dealStageId !== null && !cat.stages.some((x) => x.id === t.dealStageId)) problems.push(`${path}.dealStageId: «${t.dealStageId}» is not a stage of the funnel «${cat.name}»`);
  };
  for (const dir of ['incoming', 'outgoing'] as const) {
    stage(s.funnels[dir].defaults, `funnels.${dir}.defaults`);
    s.funnels[dir].rules.forEach((r, i) => stage(r, `funnels.${dir}.rules.${i}`));
  }
  s.fields.forEach((f, i) => {
    if (!d.fields[f.entity].some((x) => x.id === f.b24Field)) problems.push(`fields.${i}.b24Field: ${f.b24Field} is not a text field of the ${f.entity}`);
  });
  return problems;
}
