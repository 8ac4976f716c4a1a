import type { TelephonySettings } from '../../contracts/telephony-settings';
import { chooseResponsible, ownerOf, ruleOrDefault, type ResponsibleRules } from './choose-responsible';
import { talker } from './call-templates';
import type { CallFacts } from './call-types';
import type { Found } from './types';

export interface CallResponsibles {
  /** of the CRM items the call creates */
  entity: number | null;
  /** of the call activity: the user `finish` names */
  activity: number | null;
  /** the «Ответственные» default of the call's direction */
  fallback: number | null;
}

/**
 * «Ответственные» for a call (seed 002 lines 179–207), one priority for both: the client's existing
 * item («самое важное - старая сущность», Contact → Company → Lead/Deal, lines 192, 200), then the
 * employee on the line — the first or last who talked on an incoming call (line 191), the caller of
 * an outgoing one (line 189) — when the employee sync knows his Bitrix24 user, then the first
 * matching incoming rule (line 184), then the default of the direction (lines 181–182, 188, 190).
 *
 * The items a call creates take that order (line 201: a new deal goes to the contact's responsible
 * «не смотря на то что звонили на другого сотрудника»; line 207: «ставим его в новую сделку»). The
 * activity goes to the employee who talked, when one did (lines 198, 202, 204–207: «При успешном
 * тот, кто разговаривал»), otherwise by the same order (lines 195–197: «дело ставится на того, кто в
 * старом лиде ответственный»). Existing items keep their responsible.
 */
export function callResponsibles(s: TelephonySettings, f: CallFacts, found: Found | null): CallResponsibles {
  const r = s.responsible;
  const incoming = f.direction === 'in';
  const fallback = incoming ? r.incomingDefaultUserId : r.outgoingDefaultUserId;
  const rules: ResponsibleRules = { defaultUserId: fallback, rules: incoming ? r.rules : [] };
  const employee = incoming ? (f.answered ? (talker(f, r.talker)?.userId ?? null) : null) : (f.caller?.userId ?? null);
  return {
    entity: chooseResponsible(rules, f, found, employee),
    activity: employee ?? ownerOf(found) ?? ruleOrDefault(rules, f),
    fallback,
  };
}
