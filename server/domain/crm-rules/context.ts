import type { CrmRulesSettings, UisVariable } from '../../contracts/crm-rules';
import { phoneDigits } from '../phone';
import { normalEmail } from '../workspace';
import { templateVars } from './template-vars';
import { commentText } from './transcript';
import type { Communication } from './communication';
import type { CommentOp, EntityRef, RequestFacts, RequestMessage } from './types';

/** What every planning step needs about one decision. */
export interface PlanContext {
  s: CrmRulesSettings;
  f: RequestFacts;
  vars: Record<UisVariable, string | null>;
  timeZone: string;
  /** messages this decision writes, oldest first */
  messages: RequestMessage[];
}

export function planContext(s: CrmRulesSettings, f: RequestFacts, timeZone: string, messages: RequestMessage[]): PlanContext {
  return { s, f, vars: templateVars(f, timeZone), timeZone, messages };
}

/** `chat:1763` / `offline:88` / `call:3902714`: every idempotency key of a communication starts with it. */
export function requestKey(c: Communication): string {
  return `${c.kind}:${c.id}`;
}

export function refKey(r: EntityRef): string {
  return 'ref' in r ? `new-${r.ref}` : `${r.type}-${r.id}`;
}

/**
 * Single-flight scope: the communication itself and each client identity, so a burst of chats or
 * calls from the same new client creates one lead (docs/facts/uis.md#rule-8), phones compared as
 * Bitrix24 does.
 */
export function lockKeys(c: Communication): string[] {
  const { phones, emails } = c.kind === 'call' ? { phones: c.contactPhone ? [c.contactPhone] : [], emails: [] } : c.visitor;
  const byPhone = phones.map(phoneDigits).filter((p): p is string => !!p).map((p) => `phone:${p}`);
  const byEmail = emails.map(normalEmail).filter((e): e is string => !!e).map((e) => `email:${e}`);
  return [...new Set([requestKey(c), ...byPhone, ...byEmail])];
}

/** The cursor after this decision: the last message written, or the previous cursor. */
export function lastMessageId(c: PlanContext, previous: string | null): string | null {
  return c.messages.at(-1)?.id ?? previous;
}

/** One comment per target with the same text; keyed by target and last message, so a replay repeats nothing. */
export function commentOps(c: PlanContext, targets: readonly EntityRef[], continuation: boolean): CommentOp[] {
  const text = commentText(c.f, c.messages, c.timeZone, continuation);
  const upTo = c.messages.at(-1)?.id ?? 'start';
  return targets.map((target) => ({ op: 'comment', key: `${requestKey(c.f)}:comment:${refKey(target)}:${upTo}`, target, text }));
}
