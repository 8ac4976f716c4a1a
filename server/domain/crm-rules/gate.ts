import type { CrmRulesSettings } from '../../contracts/crm-rules';
import { matchFilter } from './match-filter';
import { chatsMode } from './open-lines';
import type { Decision, RequestFacts } from './types';

type Skip = Extract<Decision, { action: 'skip' }>;
const skip = (reason: Skip['reason'], detail: string, retry = false): Skip => ({ action: 'skip', reason, detail, retry });

export function hasContacts(f: RequestFacts): boolean {
  return f.visitor.phones.length > 0 || f.visitor.emails.length > 0;
}

/** Whether the rules act on this chat/request at all; null = go on. Cheapest checks first. */
export function gate(s: CrmRulesSettings, f: RequestFacts): Skip | null {
  const mode = chatsMode(s);
  if (mode === 'off') return skip('tab-off', `the ${f.kind === 'chat' ? 'Chats' : 'Offline requests'} tab is off`);
  if (mode === 'workspace-only') return skip('workspace-only', 'entity creation is off (workspace + Open Lines mode): Open Lines own CRM creation');
  if (f.kind === 'chat') {
    // docs/facts/uis.md#rule-23: exactly one creator per line — an open line creates its own lead.
    if (f.openLineDriven) return skip('open-lines', `channel ${f.channelId ?? f.channelType} is driven by an open line`);
    if (!(s.channels as readonly string[]).includes(f.channelType)) return skip('channel-off', `channel type ${f.channelType} is not among «Каналы чатов»`);
  }
  if (!matchFilter(f, s.filter)) return skip('filtered-out', 'the «Фильтры» conditions exclude this request');
  // A contact may still arrive (visitor card, «Форма сбора контактов»): a later event retries.
  if (!hasContacts(f) && !s.createWithoutContacts) return skip('no-contact', 'no phone or e-mail and «Создавать сущности, если нет контактных данных» is off', f.kind === 'chat' && f.event !== 'finished');
  return null;
}
