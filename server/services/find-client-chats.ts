import type { ClientChat, LookupRequest, LookupResult, StartChannel } from '../contracts/workspace';
import { phoneDigits } from '../domain/phone';
import { isOutboundType, normalEmail, workspaceUrl } from '../domain/workspace';
import { findOperator } from './find-operator';
import { dataApiDateTime } from '../domain/uis-time';
import { uisFailure, usableLink } from './workspace-errors';
import type { UisChannel, WorkspaceCaller, WorkspaceDeps } from './workspace-ports';

type Row = Record<string, unknown>;

const LOOKBACK_DAYS = 88;
const ACTIVE = new Set(['new', 'active']);

/**
 * The UIS chats of one client, found by the phones and e-mails the CRM card shows the viewing
 * user. Data API `get.chats_report` (docs/facts/uis.md#data-api-methods) filtered by `visitor_phone_number` (UIS
 * writes digits) or `chat_user_id` (the messenger's user id: the phone, the Telegram username or,
 * our reading of the docs, the address on the e-mail channel), over the last ~3 months (the report
 * window is at most 3 months). The answer also names the channels a new chat could start on.
 * The frame sends only what its user could read in Bitrix24; nothing here reads CRM data.
 */
export async function findClientChats(deps: WorkspaceDeps, caller: WorkspaceCaller, req: LookupRequest): Promise<LookupResult> {
  const link = await usableLink(deps.links, caller.memberId);
  const phones = unique(req.phones.map(phoneDigits));
  const emails = unique(req.emails.map(normalEmail));
  const channels = startChannels(await deps.channels.list(link.memberId, link.connectionId));
  if (phones.length === 0 && emails.length === 0) return { chats: [], openUrl: null, channels };

  const now = deps.clock.now();
  let rows: Row[];
  try {
    // a window of days with a day's margin each side: the account's zone cannot move it out of range
    rows = await deps.dataApi.call<Row[]>(link, 'get.chats_report', {
      date_from: dataApiDateTime(now - LOOKBACK_DAYS * 86_400_000, 'Europe/Moscow'),
      date_till: dataApiDateTime(now + 86_400_000, 'Europe/Moscow'),
      fields: ['id', 'status', 'date_time', 'chat_channel_type', 'chat_channel_name', 'visitor_phone_number', 'chat_user_id'],
      filter: {
        condition: 'or',
        filters: [
          ...(phones.length ? [{ field: 'visitor_phone_number', operator: 'in', value: phones }] : []),
          { field: 'chat_user_id', operator: 'in', value: [...phones, ...emails] },
        ],
      },
      sort: [{ field: 'date_time', order: 'desc' }],
      limit: 50,
    });
  } catch (e) {
    throw uisFailure(e, 'UIS_DATA_API_REFUSED', 'UIS did not answer the chat search');
  }
  const chats: ClientChat[] = (rows ?? []).map((r) => ({
    id: Number(r.id),
    status: String(r.status ?? ''),
    channelType: typeof r.chat_channel_type === 'string' ? r.chat_channel_type : null,
    channelName: typeof r.chat_channel_name === 'string' ? r.chat_channel_name : null,
    startedAt: typeof r.date_time === 'string' ? r.date_time : null,
  }));
  const pick = rows.find((r) => ACTIVE.has(String(r.status))) ?? rows[0];
  if (!pick) return { chats, openUrl: null, channels };
  const operator = await findOperator(deps, link, caller.userId, { reuseMiss: true }).catch(() => null);
  const phone = typeof pick.visitor_phone_number === 'string' && pick.visitor_phone_number ? pick.visitor_phone_number : phones[0];
  const base = deps.uisEndpoints(link.project).workspaceUrl;
  const openUrl = workspaceUrl(base, { accountId: link.accountId, chatId: Number(pick.id), phone, email: phone ? null : emails[0], operatorId: operator?.id });
  return { chats, openUrl, channels };
}

/** Active adapter channels that can start a chat, WABA with its templates. */
export function startChannels(list: UisChannel[]): StartChannel[] {
  return list.flatMap((c) => {
    if (!isOutboundType(c.type)) return [];
    const templates = c.type === 'waba' ? c.templates.map((t) => ({ id: t.id, name: t.name, text: t.text })) : [];
    return [{ id: c.channelId, type: c.type, name: c.name, templates }];
  });
}

function unique(xs: Array<string | null>): string[] {
  return [...new Set(xs.filter((x): x is string => !!x))];
}
