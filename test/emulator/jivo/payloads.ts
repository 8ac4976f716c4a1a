/**
 * Webhook bodies exactly as Jivo documents them (jivo.ru/docs/webhooks, EN twin
 * jivochat.com/docs/webhooks; docs/facts/chat-sources.md#jivo-events): JSON, `event_name` always present,
 * `widget_id` = the channel's id (a string), `chat_id` a number, `visitor` {name, email, phone,
 * number, description, social, chats_count}, `session` {geoip, utm, utm_json, ip_addr,
 * user_agent}, `page` {url, title}, `agents[]` {id, name, email, phone}, `chat` {messages[]
 * {message, timestamp (unix s), type 'visitor' | 'agent', agent_id}, blacklisted, rate,
 * invitation}; `user_token` only when the site called `jivo_api.setUserToken`.
 *
 * Chosen where the docs are silent: a messenger chat (not started in the site widget) has
 * `session: null`, `page: null` and no `user_token`; a missing contact is omitted, not null.
 */
export interface JivoVisitor {
  name?: string;
  phone?: string;
  email?: string;
  /** Jivo's visitor number */
  number: string;
  chatsCount: number;
}

export interface JivoMessage {
  message: string;
  /** unix seconds */
  timestamp: number;
  type: 'visitor' | 'agent' | 'system' | 'bot';
  agentId?: number;
}

export interface JivoChat {
  chatId: number;
  widgetId: string;
  /** 'site' for the widget; a messenger's name otherwise */
  channelType: string;
  visitor: JivoVisitor;
  userToken: string | null;
  messages: JivoMessage[];
  invitation: string | null;
  blacklisted: boolean;
  rate: string | null;
  pageUrl: string | null;
  status: 'active' | 'finished';
}

export const AGENTS = [
  { id: '3599', name: 'Thomas Anderson', email: 'agent@jivosite.com', phone: '+14083682346' },
  { id: '3600', name: 'Мария Операторова', email: 'maria@jivosite.com', phone: '+79031112233' },
];

type Json = Record<string, unknown>;

function visitorJson(v: JivoVisitor): Json {
  const out: Json = { number: v.number, description: '', social: {}, chats_count: v.chatsCount };
  if (v.name !== undefined) out.name = v.name;
  if (v.email !== undefined) out.email = v.email;
  if (v.phone !== undefined) out.phone = v.phone;
  return out;
}

function sessionJson(chat: JivoChat): Json | null {
  if (chat.channelType !== 'site') return null;
  return {
    geoip: { region_code: 'MOW', country: 'Russia', country_code: 'RU', region: 'Moscow', city: 'Moscow', latitude: '55.7522', longitude: '37.6156', organization: 'Example ISP' },
    utm: 'source=yandex|medium=cpc|campaign=spring',
    utm_json: { source: 'yandex', medium: 'cpc', campaign: 'spring' },
    ip_addr: '203.0.113.7',
    user_agent: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36',
  };
}

function common(chat: JivoChat, event: string): Json {
  const out: Json = { event_name: event, widget_id: chat.widgetId, chat_id: chat.chatId, visitor: visitorJson(chat.visitor) };
  if (chat.userToken !== null) out.user_token = chat.userToken;
  out.session = sessionJson(chat);
  out.page = chat.channelType === 'site' ? { url: chat.pageUrl ?? 'http://example.com/', title: 'Page title' } : null;
  return out;
}

const agentIds = (chat: JivoChat) => [...new Set(chat.messages.filter((m) => m.type === 'agent').map((m) => String(m.agentId ?? AGENTS[0]!.id)))];

/** `chat_finished`: all visitor data, the agents of the chat and every message. */
export function chatFinished(chat: JivoChat): Json {
  const ids = agentIds(chat);
  const chatJson: Json = {
    messages: chat.messages.map((m) => ({ message: m.message, timestamp: m.timestamp, type: m.type, ...(m.type === 'agent' ? { agent_id: m.agentId ?? Number(AGENTS[0]!.id) } : {}) })),
    blacklisted: chat.blacklisted,
    rate: chat.rate,
  };
  if (chat.invitation !== null) chatJson.invitation = chat.invitation;
  return {
    ...common(chat, 'chat_finished'),
    agents: AGENTS.filter((a) => ids.includes(a.id)),
    department: { id: 181, name: 'Sales' },
    chat: chatJson,
    plain_messages: chat.messages.map((m) => `${m.type === 'agent' ? 'Agent' : 'Visitor'}: ${m.message}`).join('\n'),
    html_messages: '',
    analytics: null,
    tags: [],
  };
}

/** `chat_accepted`: an agent pressed «Ответить». */
export function chatAccepted(chat: JivoChat): Json {
  return { ...common(chat, 'chat_accepted'), agent: AGENTS[0], department: { id: 181, name: 'Sales' }, analytics: {} };
}

/** `chat_updated`: the visitor's data changed in an active chat. */
export function chatUpdated(chat: JivoChat): Json {
  return { ...common(chat, 'chat_updated'), agent: AGENTS[0], department: { id: 181, name: 'Sales' }, analytics: {} };
}

/** `client_updated`: the client card changed. */
export function clientUpdated(chat: JivoChat): Json {
  return { event_name: 'client_updated', widget_id: chat.widgetId, chat_id: chat.chatId, visitor: visitorJson(chat.visitor), client_id: 17, assigned_agent: AGENTS[0] };
}

/** `call_event`: a callback request or call status. */
export function callEvent(chat: JivoChat): Json {
  return {
    ...common(chat, 'call_event'),
    agent: AGENTS[0],
    department: { id: 181, name: 'Sales' },
    call: { type: 'callback', phone: chat.visitor.phone ?? '+14084987855', status: 'end', record_url: 'http://example.com/record.mp3' },
    analytics: {},
  };
}

/** `offline_message`: a message through the offline form, with `offline_message_id`. */
export function offlineMessage(o: { widgetId: string; userToken: string | null; visitor: JivoVisitor; message: string; offlineMessageId: number; channelType: string; pageUrl: string | null }): Json {
  const chat: JivoChat = {
    chatId: 0,
    widgetId: o.widgetId,
    channelType: o.channelType,
    visitor: o.visitor,
    userToken: o.userToken,
    messages: [],
    invitation: null,
    blacklisted: false,
    rate: null,
    pageUrl: o.pageUrl,
    status: 'finished',
  };
  const { chat_id: _drop, ...rest } = common(chat, 'offline_message');
  return { ...rest, message: o.message, offline_message_id: o.offlineMessageId };
}
