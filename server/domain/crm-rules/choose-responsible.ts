import type { FilterOf } from '../../contracts/crm-rules';
import { matchFilter } from './match-filter';
import { newest } from './pick-targets';
import type { Communication } from './communication';
import type { Found, FoundEntity } from './types';

/** Default responsible and «Фильтр ответственных» rules, of any communication. */
export interface ResponsibleRules {
  defaultUserId: number | null;
  rules: ReadonlyArray<{ userId: number; filter: FilterOf }>;
}

/**
 * The client's own responsible, in the seed's order «Контакт» → «Компания» → «ЛИД»/«Сделка»
 * («самое важное - старая сущность», seed 002 lines 192, 200); open leads/deals before closed ones.
 */
export function ownerOf(found: Found | null): number | null {
  if (!found) return null;
  const order: Array<FoundEntity | undefined> = [
    newest(found.contacts),
    newest(found.companies),
    newest(found.deals, false) ?? newest(found.leads, false),
    newest(found.deals) ?? newest(found.leads),
  ];
  return order.find((e) => e?.responsibleId)?.responsibleId ?? null;
}

/** The first matching «Фильтр ответственных» rule, else the default. */
export function ruleOrDefault(s: ResponsibleRules, c: Communication): number | null {
  return s.rules.find((r) => matchFilter(c, r.filter))?.userId ?? s.defaultUserId;
}

/**
 * The responsible for what a communication creates. An existing client keeps his responsible
 * (`ownerOf`); then the employee who handled it, when the employee sync knows his Bitrix24 user
 * («далее сотрудник которому звонят, потом смотрим фильтры, потом по умолчанию», seed 002 line
 * 192); then the first matching rule, else the default («Запросы с других сайтов будут назначены на
 * ответственного по умолчанию»). Chats and offline requests name their employee in the facts.
 */
export function chooseResponsible(s: ResponsibleRules, c: Communication, found: Found | null, employeeUserId?: number | null): number | null {
  const employee = employeeUserId !== undefined ? employeeUserId : c.kind === 'call' ? null : c.employeeUserId;
  return ownerOf(found) ?? employee ?? ruleOrDefault(s, c);
}
