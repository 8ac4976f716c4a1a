import type { CrmRulesSettings } from '../../contracts/crm-rules';
import { commentOps, lastMessageId, lockKeys, planContext } from './context';
import { gate, hasContacts } from './gate';
import { commentTargets, isKnownClient } from './pick-targets';
import { planAttach } from './plan-attach';
import { planCreate } from './plan-create';
import { messagesAfter } from './transcript';
import type { ChatLink, Decision, Found, RequestFacts } from './types';

export interface DecideInput {
  settings: CrmRulesSettings;
  facts: RequestFacts;
  /** what the Bitrix24 search found by the visitor's phones/e-mails; null when none was possible */
  found: Found | null;
  /** what the app already did for this chat; null for a chat it has not acted on yet */
  link: ChatLink | null;
  /** the portal's time zone, for the dates in titles and comments */
  timeZone: string;
}

const NONE: Found = { leads: [], deals: [], contacts: [], companies: [] };

/**
 * The CRM rules of «Чаты» / «Оффлайн заявки» (seed 002 «Чаты (офлайн заявки)»): whether to act on
 * a chat or offline request, and if so, the operations to apply. Pure; the service gathers the
 * facts, searches the CRM and applies the decision.
 */
export function decide(input: DecideInput): Decision {
  const { settings: s, facts: f, link, timeZone } = input;
  const early = skipBeforeSearch(s, f);
  if (early) return early;
  const atEnd = f.kind === 'offline' || f.event === 'finished';
  if (link) return continueChat(s, f, link, timeZone, atEnd);
  const c = planContext(s, f, timeZone, messagesAfter(f.messages, null));
  // «каждое обращение без контактных данных будет считаться первичным» (seed 002).
  const found = hasContacts(f) ? (input.found ?? NONE) : NONE;
  const base = { action: 'apply', lockKeys: lockKeys(f) } as const;
  if (isKnownClient(found)) {
    if (s.repeat.entities !== 'none') {
      const plan = planCreate(c, 'repeat', found);
      if (plan) return { ...base, request: 'repeat', ...plan };
    }
    const targets = commentTargets(s, found);
    // Nothing usable found: «значит это первичное обращение, которое отработаем по … логике из настроек».
    if (targets.length > 0) return { ...base, request: 'repeat', ...planAttach(c, targets, found) };
  }
  const plan = planCreate(c, 'primary', found);
  if (!plan) return { action: 'skip', reason: 'nothing-to-create', detail: 'a primary request creates nothing in the settings', retry: false };
  return { ...base, request: 'primary', ...plan };
}

/**
 * The skips that need no CRM search (the gate: tab, channel, filters…; a chat written at its end
 * that has not ended). The service asks before searching, so a skipped chat costs no REST call.
 */
export function skipBeforeSearch(s: CrmRulesSettings, f: RequestFacts): Decision | null {
  const blocked = gate(s, f);
  if (blocked) return blocked;
  // «Завершение чата: переписка будет подгружена … после завершения диалога» — once.
  if (f.kind === 'chat' && s.timing === 'end' && f.event !== 'finished') return { action: 'skip', reason: 'waits-for-end', detail: 'the chat is written at its end', retry: true };
  return null;
}

/** A chat the app already acted on: only its new messages, to the same entities (never a second lead). */
function continueChat(s: CrmRulesSettings, f: RequestFacts, link: ChatLink, timeZone: string, atEnd: boolean): Decision {
  const fresh = messagesAfter(f.messages, link.cursor).filter((m) => m.text.trim() !== '');
  if (fresh.length === 0) return { action: 'skip', reason: 'nothing-new', detail: 'every message is already in the timeline', retry: !atEnd };
  const c = planContext(s, f, timeZone, fresh);
  return {
    action: 'apply',
    request: 'continuation',
    lockKeys: lockKeys(f),
    ops: commentOps(c, link.targets, true),
    link: { targets: link.targets, cursor: lastMessageId(c, link.cursor) },
  };
}
