import type { ResponsibleSettings } from '../../contracts/crm-rules';
import { matchFilter } from './match-filter';
import { newest } from './pick-targets';
import type { Found, FoundEntity, RequestFacts } from './types';

/**
 * The responsible for what a request creates. An existing client keeps his responsible, in the
 * seed's order «Контакт» → «Компания» → «ЛИД»/«Сделка» («самое важное - старая сущность», seed 002
 * «Настройка "Ответственные"»); then the employee who handled the chat/request, when the employee
 * sync knows his Bitrix24 user («далее сотрудник которому звонят, потом смотрим фильтры, потом по
 * умолчанию»); then the first matching «Фильтр ответственных» rule, else the default («Запросы с
 * других сайтов будут назначены на ответственного по умолчанию»).
 */
export function chooseResponsible(s: ResponsibleSettings, facts: RequestFacts, found: Found | null): number | null {
  if (found) {
    const order: Array<FoundEntity | undefined> = [
      newest(found.contacts),
      newest(found.companies),
      newest(found.deals, false) ?? newest(found.leads, false),
      newest(found.deals) ?? newest(found.leads),
    ];
    const owner = order.find((e) => e?.responsibleId)?.responsibleId;
    if (owner) return owner;
  }
  if (facts.employeeUserId) return facts.employeeUserId;
  return s.rules.find((r) => matchFilter(facts, r.filter))?.userId ?? s.defaultUserId;
}
