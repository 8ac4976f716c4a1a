/**
 * The emulated UIS platform's internal model. Sources: comagic/comagic.github.io `chat_api/`
 * (cited as "Chat API §<section>"), `data_api/` ("Data API <page>") and the project reference
 * docs/facts/uis.md (cited by anchor).
 */

/**
 * Chat channel mnemonics the emulator models (Data API get.chats_report `chat_channel_type`).
 * The account starts with one channel of each of the first nine.
 */
export type ChannelType =
  | 'comagic'
  | 'whatsapp'
  | 'waba'
  | 'telegram'
  | 'telegram_private'
  | 'vkontakte_groups'
  | 'avito'
  | 'email'
  | 'sms'
  | 'viber'
  | 'auto_ru'
  | 'realty_yandex';

/**
 * Chat API §"Управление адаптерами": the only values `supported_channel_types` accepts. Note that
 * `vkontakte_groups` is not among them: a VK channel cannot be connected to an adapter.
 */
export const ADAPTER_CHANNEL_TYPES = [
  'comagic',
  'telegram',
  'auto_ru',
  'avito',
  'realty_yandex',
  'viber',
  'telegram_private',
  'whatsapp',
  'waba',
  'sms',
  'email',
] as const;
export type AdapterChannelType = (typeof ADAPTER_CHANNEL_TYPES)[number];

/** Chat API §"Создание чата": channels on which the adapter may write first (v1.10.0). */
export const OUTBOUND_CHANNEL_TYPES: readonly ChannelType[] = ['whatsapp', 'waba', 'telegram_private', 'sms', 'email'];

/** Chat API §"Завершение чата" (runtime) — every reason UIS knows; the adapter may send only `closed_by_operator`. */
export const CLOSE_REASONS = [
  'closed_by_timeout',
  'invite_rejected',
  'closed_by_operator',
  'closed_by_visitor',
  'visitor_banned',
  'external_window_closed',
  'visitor_disconnected',
  'visitor_session_expired',
  'closed_by_scenario',
] as const;
export type CloseReason = (typeof CLOSE_REASONS)[number];

/** Chat API §"Добавление ресурса". */
export const RESOURCE_TYPES = ['photo', 'video', 'audio', 'voice', 'document'] as const;
export type ResourceType = (typeof RESOURCE_TYPES)[number];

/** Chat API §"Новое сообщение": values of `status`. */
export type MessageStatus = 'accepted' | 'sent' | 'delivered' | 'read' | 'error';

/** Data API get.employees `status` (the documented enum; the brief's away/offline do not exist there). */
export type EmployeeStatus = 'available' | 'break' | 'do_not_disturb' | 'not_at_workplace' | 'not_at_work' | 'unknown' | 'auto_out_call';

export interface Employee {
  id: number;
  full_name: string;
  first_name: string;
  last_name: string;
  email: string;
  login: string;
  operator_chat_enabled: boolean;
  status: EmployeeStatus;
}

export interface Site {
  id: number;
  domain_name: string;
  name: string;
  site_key: string;
  creation_date: number;
}

export interface Source {
  id: number;
  name: string;
  channel_name: string;
  channel_mnemonic: string;
  state: 'active' | 'off' | 'removed';
}

export interface Campaign {
  id: number;
  name: string;
  site_id: number;
  type: 'basic' | 'system' | 'integrated';
  status: 'active' | 'inactive';
  creation_time: number;
}

/** A chat channel of the account (Chat API §"Каналы чатов"). */
export interface ChatChannel {
  /** the channel id of the management API (`GET /v1/integration/channel` → `id`, `context.chat_channel_id` in callbacks) */
  id: number;
  type: ChannelType;
  name: string;
  /**
   * The docs' example list item also carries a `channel_id` different from `id` (28910 vs 740805)
   * without explaining it; we fill it with a distinct number and use it nowhere.
   */
  channelId: number;
  isRemoved: boolean;
  /**
   * Chat API §"Каналы чатов": `status` (active, disabled) and `status_reason`. A disabled channel
   * still takes clients' messages in UIS (the docs are silent; the harsher reading: they are kept
   * and listed by the Data API reports) but the adapter gets no callbacks for it until it is active
   * again, and nothing is replayed then.
   */
  status?: 'active' | 'disabled';
  statusReason?: string;
  /** WABA only: the templates sent in `context.message_templates` (Chat API §"Работа с каналом типа waba") */
  messageTemplates?: MessageTemplate[];
}

export interface MessageTemplate {
  id: number;
  name: string;
  content: {
    text: string;
    header?: { text?: string | null; headerType?: 'TEXT' | 'VIDEO' | 'IMAGE' | 'DOCUMENT' | null; headerExampleMediaUrl?: string | null };
    footer?: { text?: string | null };
    keyboard?: { rows: Array<{ buttons: Array<{ text: string; buttonType: 'QUICK_REPLY' | 'URL' | 'PHONE'; payload?: string; url?: string; phone?: string }> }> };
  };
  createdAt: string;
}

/** A visitor session of the site (JS API `Comagic.getSessionId()`), the anchor `upload.chats` accepts. */
export interface VisitorSession {
  id: number;
  siteId: number;
  campaignId: number;
  startedAt: number;
  visitorId: number | null;
  /** the landing page's UTM tags (get.chats_report utm_*) */
  utm?: Partial<Record<'source' | 'medium' | 'campaign' | 'term' | 'content', string>>;
}

export interface Visitor {
  id: number;
  channelType: ChannelType;
  name: string | null;
  phone: string | null;
  email: string | null;
  username: string | null;
  sessionId: number | null;
}

export interface Resource {
  id: number;
  token: string;
  type: ResourceType;
  name: string;
  size: number;
  mime: string;
  content: Buffer;
  appId: number;
  chatChannelId: number;
}

export interface ResourceView {
  id: number;
  token: string;
  type: ResourceType;
  name: string;
  size: number;
}

export interface UisMessage {
  id: number;
  chatId: number;
  source: 'visitor' | 'operator' | 'system';
  text: string;
  resource?: ResourceView & { mime: string };
  operatorId?: number | null;
  status: MessageStatus;
  /** ms on the emulator's clock when UIS recorded it */
  createdAt: number;
  /** `created_at` as the adapter sent it (echoed back verbatim by the runtime API) */
  createdAtRaw?: string;
  replyToId?: number | null;
  systemMnemonic?: string | null;
  /** addition: who produced it — the visitor, our adapter (runtime API), the native workspace, or UIS itself */
  origin: 'visitor' | 'adapter' | 'workspace' | 'platform';
  /** addition: WABA template used (context.template.id) */
  templateId?: number;
  /** addition: ms when the visitor last edited it (v2 «Обновление сообщения») */
  editedAt?: number;
}

export interface Chat {
  id: number;
  appId: number;
  chatChannelId: number;
  channelType: ChannelType;
  visitorId: number;
  status: 'active' | 'closed';
  operatorId: number | null;
  initiator: 'visitor' | 'operator';
  createdAt: number;
  closedAt: number | null;
  closeReason: CloseReason | null;
  messages: UisMessage[];
  /** WABA: unix seconds when the free-form window ends (context.conversation_frame_ts); null = closed */
  conversationFrameTs: number | null;
  transferred: boolean;
  /** addition: the chat was started by the adapter through POST /v1/adapter/chat */
  startedVia: 'visitor' | 'adapter' | 'workspace';
}

export interface WebhookAuth {
  type: 'Bearer' | 'Basic';
  token?: string;
  login?: string;
  password?: string;
}

/** Chat API §"Управление адаптерами" — the Adapter entity. */
export interface AdapterRec {
  id: number;
  type: string;
  name: string;
  status: 'active' | 'disabled';
  supportedChannelTypes: AdapterChannelType[];
  /** app_id of the owner; null = system adapter */
  owner: number | null;
  visibilityStatus: 'private' | 'public';
  login: string;
  password: string;
  webhookUrl: string;
  webhookVersion: 'v1' | 'v2';
  webhookToken: string | null;
  webhookAuth: WebhookAuth | null;
  webhookKwargs: { timeout?: number; headers?: Record<string, string> };
}

/** Chat API §"Подключение адаптера" — the Account entity (an adapter connected by a client). */
export interface ConnectionRec {
  id: number;
  name: string;
  adapterId: number;
  appId: number;
  /** management channel ids (ChatChannel.id) */
  channels: number[];
  context: Record<string, unknown>;
  status: 'active' | 'disabled';
}

/** Chat API §"Chat API → Сущности → Channel": a chat channel as connected to an adapter account. */
export interface AdapterChannelRec {
  id: number;
  connectionId: number;
  chatChannelId: number;
  status: 'active' | 'disabled';
}

export interface CallbackRecord {
  /** path appended to webhook_url, e.g. '/message/status' or '/account/286' */
  path: string;
  method: string;
  status: number | 'network-error';
  body: unknown;
  /** ms on the emulator clock */
  at: number;
  /** addition: full URL, Authorization header sent, attempt number (1-based) */
  url: string;
  authorization: string | null;
  attempt: number;
}

/** What upload.offline_messages accepted (dataapi/upload-offline-messages.ts). */
export interface UploadedOfflineMessage {
  id: number;
  ext_id: string | null;
  date_time: string;
  /** addition: `date_time` as epoch ms */
  at: number;
  name: string | null;
  phone: string | null;
  email: string | null;
  message: string | null;
  form_name: string | null;
  visitor_session_id: number | null;
  campaign_id: number | null;
  site_id: number | null;
  source_id: number | null;
  /** addition: how many upload.offline_messages calls carried this request (1 = never re-uploaded) */
  uploads: number;
  uploadedAt: number;
  updatedAt: number;
}

export interface UploadedChat {
  id: number;
  ext_id: string | null;
  start_date_time: string;
  startedAt: number;
  name: string | null;
  phone: string | null;
  email: string | null;
  status: 'lost' | 'succeed' | 'refused';
  initiator: 'operator' | 'visitor' | 'autoinvite';
  visitor_session_id: number | null;
  campaign_id: number | null;
  site_id: number | null;
  source_id: number | null;
  employee_id: number | null;
  messages: Array<{ date_time: string; source: 'operator' | 'visitor' | 'system'; employee_id: number | null; message: string }>;
  chat_channel_type: 'dataapi';
  /** addition: how many upload.chats calls carried this chat (1 = never re-uploaded) */
  uploads: number;
  uploadedAt: number;
  updatedAt: number;
}
