/**
 * get.chat_messages_report (Data API «Отчёты» → «Получение всех сообщений чата»): the messages of
 * the chats named by `chat_id` / `chat_ids`, or of all chats between `date_from` and `date_till`
 * (at most 30 days apart; may be combined with the ids), in the order they were sent.
 */
import type { AccountImpl } from '../account';
import { dataApiDateTime, parseDataApiDateTime } from '../time';
import { rpc } from './errors';
import { runQuery } from './query';

type Row = Record<string, unknown>;

export const CHAT_MESSAGE_FIELDS = [
  'id', 'chat_id', 'channel_id', 'channel_type', 'date_time', 'is_group_chat', 'visitor_id', 'text', 'source', 'resource', 'employee_id', 'employee_full_name',
] as const;
const DEFAULTS = ['id', 'chat_id', 'date_time', 'is_group_chat', 'visitor_id', 'text', 'source', 'resource', 'employee_id', 'employee_full_name'] as const;
const MAX_INTERVAL_MS = 30 * 86_400_000;

export function chatMessagesReport(account: AccountImpl, params: Row): { data: unknown; total: number } {
  const ids = new Set<number>();
  if (params.chat_id !== undefined && params.chat_id !== null) {
    if (!Number.isInteger(params.chat_id)) throw rpc.dataType('chat_id', params.chat_id);
    ids.add(params.chat_id as number);
  }
  if (params.chat_ids !== undefined && params.chat_ids !== null) {
    if (!Array.isArray(params.chat_ids) || params.chat_ids.some((x) => !Number.isInteger(x))) throw rpc.dataType('chat_ids', params.chat_ids);
    for (const x of params.chat_ids as number[]) ids.add(x);
  }
  let from: number | null = null;
  let till: number | null = null;
  if (params.date_from !== undefined || params.date_till !== undefined) {
    from = parseDataApiDateTime(params.date_from, account.utcOffsetMin);
    if (from === null) throw rpc.invalidValue('date_from', params.date_from);
    till = parseDataApiDateTime(params.date_till, account.utcOffsetMin);
    if (till === null || till < from) throw rpc.invalidValue('date_till', params.date_till);
    if (till - from > MAX_INTERVAL_MS) throw rpc.dateInterval();
  } else if (ids.size === 0) {
    throw rpc.required('chat_id');
  }
  const rows: Row[] = [];
  for (const chat of account.chatList) {
    if (ids.size && !ids.has(chat.id)) continue;
    const visitor = account.visitorOf(chat);
    for (const m of chat.messages) {
      if (from !== null && (m.createdAt < from || m.createdAt > till!)) continue;
      const employee = account.employee(m.operatorId ?? null);
      rows.push({
        id: m.id,
        chat_id: chat.id,
        channel_id: chat.chatChannelId,
        channel_type: chat.channelType,
        date_time: dataApiDateTime(m.createdAt, account.utcOffsetMin),
        is_group_chat: false,
        visitor_id: visitor.id,
        text: m.text,
        source: m.source,
        resource: m.resource ? { size: m.resource.size, type: m.resource.type, file_url: null, file_name: m.resource.name, mime_type: m.resource.mime } : null,
        employee_id: m.operatorId ?? null,
        employee_full_name: employee?.full_name ?? null,
        _at: m.createdAt,
      });
    }
  }
  rows.sort((a, b) => (a._at as number) - (b._at as number) || (a.id as number) - (b.id as number));
  return runQuery(rows, params, {
    known: CHAT_MESSAGE_FIELDS,
    defaults: DEFAULTS,
    filterable: ['id', 'chat_id', 'channel_id', 'channel_type', 'employee_id'],
    sortable: ['channel_type', 'date_time', 'employee_id'],
  });
}
