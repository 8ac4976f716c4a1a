import type { FunnelSettingsOf, StageTarget } from '../../contracts/crm-rules';
import { matchFilter } from './match-filter';
import type { Communication } from './communication';

/**
 * Lead status and deal funnel/stage: the first «Фильтр воронок» rule the communication matches,
 * else the defaults (seed 002 «Распределение по воронкам»: «Разрешен» → the rule's stage, others →
 * default; «Запрещен» → that channel gets the default; calls, lines 175–176: «Включить» / «Исключить»
 * the same way). A rule field left empty falls back to the default.
 */
export function chooseStage(f: FunnelSettingsOf, c: Communication): StageTarget {
  const rule = f.rules.find((r) => matchFilter(c, r.filter));
  if (!rule) return f.defaults;
  const d = f.defaults;
  const dealFromRule = rule.dealCategoryId !== null;
  return {
    leadStatusId: rule.leadStatusId ?? d.leadStatusId,
    // A deal stage belongs to its funnel: never mix the rule's funnel with the default's stage.
    dealCategoryId: dealFromRule ? rule.dealCategoryId : d.dealCategoryId,
    dealStageId: dealFromRule ? rule.dealStageId : d.dealStageId,
  };
}
