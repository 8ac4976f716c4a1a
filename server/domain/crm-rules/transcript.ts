import { escapeBbcode } from '../bbcode';
import { channelLabel, formatDate } from './template-vars';
import type { RequestFacts, RequestMessage } from './types';

/** Messages not yet written to the timeline: those after `cursor` (all of them when it is unknown). */
export function messagesAfter(messages: readonly RequestMessage[], cursor: string | null): RequestMessage[] {
  const sorted = [...messages].sort((a, b) => a.at - b.at);
  if (cursor === null) return sorted;
  const i = sorted.findIndex((m) => m.id === cursor);
  return i < 0 ? sorted : sorted.slice(i + 1);
}

const WHO = { visitor: 'Клиент', operator: 'Оператор', system: 'Система' } as const;

/**
 * The timeline comment for a chat/request: a header naming it, then one line per message. «Начало
 * чата» writes such comments as messages come, «Завершение чата» the whole transcript once (seed 002).
 * Timeline comments are BBCode: every text that came from outside (messages, names, channel and
 * form names) is escaped, so a client's `[URL=…]` or `[USER=1]` shows as written.
 */
export function commentText(f: RequestFacts, messages: readonly RequestMessage[], timeZone: string, continuation: boolean): string {
  const t = escapeBbcode;
  const what =
    f.kind === 'chat'
      ? `Чат ${channelLabel(f.channelType)}${f.channelName ? ` (${t(f.channelName)})` : ''} #${f.id}`
      : `Офлайн заявка #${f.id}${f.formName ? ` (${t(f.formName)})` : ''}`;
  const head = continuation ? `${what}, продолжение` : `${what}, начат ${formatDate(f.startedAt, timeZone)}`;
  const lines = messages
    .filter((m) => m.text.trim() !== '')
    .map((m) => {
      const who = m.source === 'operator' && m.author ? `${WHO.operator} ${t(m.author)}` : m.source === 'visitor' && f.visitor.name ? `${WHO.visitor} ${t(f.visitor.name)}` : WHO[m.source];
      return `[${formatDate(m.at, timeZone)}] ${who}: ${t(m.text.trim())}`;
    });
  return [head, ...lines].join('\n');
}
