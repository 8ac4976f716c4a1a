/**
 * One UIS client account (an `app_id`): its employees, sites, campaigns, chat channels, visitors
 * and chats, plus the chat engine every surface shares — the visitor side (`visitorWrite`, the
 * visitor page), the adapter side (runtime API) and the native operator workspace (РМО).
 *
 * Which actions produce callbacks follows the docs' definition (Chat API §"Соглашения"): a
 * callback reports a change that happened WITHOUT the adapter's direct participation. So what the
 * adapter does through the runtime API is not echoed back (no `/message` for its own message, no
 * `/chat/close` for its own close), while everything the visitor, UIS itself or an operator in
 * the native workspace does is. Exceptions shown by the docs' example: the `chat_started` system
 * message after `POST /v1/adapter/chat`, and `/message/status` for the adapter's messages.
 */
import type { Outcome, Outgoing } from './callbacks';
import { DomainError } from './errors';
import { randomKey, randomHex } from './ids';
import type { UisAccount } from './index';
import {
  accountPayload,
  channelPayload,
  chatClosePayload,
  chatOperatorPayload,
  chatPayload,
  messageEditPayload,
  messagePayload,
  statusPayload,
  visitorCardPayload,
  type Route,
} from './payloads';
import { PointBudget } from './dataapi/limits';
import { seedAccount, wabaTemplates } from './seed';
import { isoMicro, MOSCOW_OFFSET_MIN } from './time';
import type {
  CallbackRecord,
  Campaign,
  Chat,
  ChannelType,
  ChatChannel,
  CloseReason,
  Employee,
  MessageTemplate,
  Resource,
  ResourceType,
  ResourceView,
  Site,
  Source,
  UisMessage,
  UploadedChat,
  Visitor,
  VisitorSession,
  UploadedOfflineMessage,
} from './types';
import type { World } from './world';
import type { OfflineRequest } from './dataapi/offline-report';
import { pbxOf, type Pbx } from './pbx/pbx';

export interface VisitorIdentity {
  name?: string;
  phone?: string;
  email?: string;
  username?: string;
  sessionId?: number;
}

export interface FileInput {
  name: string;
  mime: string;
  content: Buffer;
}

/** Digits only, the way UIS writes phones (`"visitor_phone": "74959268686"`, Chat API §"Примеры"). */
export function phoneDigits(p: string | undefined | null): string | null {
  if (!p) return null;
  const d = p.replace(/\D/g, '');
  return d.length ? d : null;
}

function bareUsername(u: string | undefined | null): string | null {
  if (!u) return null;
  const s = u.trim().replace(/^@/, '');
  return s.length ? s : null;
}

export function resourceTypeFor(mime: string): ResourceType {
  if (mime.startsWith('image/')) return 'photo';
  if (mime.startsWith('video/')) return 'video';
  if (mime === 'audio/ogg' || mime === 'audio/opus') return 'voice';
  if (mime.startsWith('audio/')) return 'audio';
  return 'document';
}

export class AccountImpl implements UisAccount {
  readonly appId: number;
  readonly name: string;
  timezone = 'Europe/Moscow';
  /** the offset of `timezone` (Data API date-times) */
  utcOffsetMin = MOSCOW_OFFSET_MIN;
  readonly project: 'uis' | 'comagic';
  readonly login: string;
  readonly password: string;
  readonly dataApiToken: string;
  readonly employees: Employee[];
  readonly sites: Site[];
  readonly sources: Source[];
  readonly campaigns: Campaign[];
  readonly channels: ChatChannel[];
  readonly sessions: VisitorSession[] = [];
  readonly visitors: Visitor[] = [];
  readonly chatList: Chat[] = [];
  readonly callbacks: CallbackRecord[] = [];
  readonly uploaded: UploadedChat[] = [];
  /** what upload.offline_messages accepted */
  readonly uploadedOffline: UploadedOfflineMessage[] = [];
  /** offline requests (site forms): get.offline_messages_report */
  readonly offlineRequests: OfflineRequest[] = [];
  /** addition: every create.employees / update.employees the account accepted, in order */
  readonly employeeWrites: Array<{ method: 'create.employees' | 'update.employees'; id: number; params: Record<string, unknown> }> = [];
  readonly budget: PointBudget;
  /** Data API components (Data API §"Компоненты"); upload.chats needs both */
  readonly components = { dataApi: true, offlineUpload: true };
  /** login.user session keys → expiry (ms) */
  readonly sessionKeys = new Map<string, number>();
  private readonly failNextDeliveries = new Map<number, number>();

  /** the account's virtual PBX (telephony): pbx/pbx.ts */
  get pbx(): Pbx {
    return pbxOf(this);
  }

  setTimeZone(name: string, utcOffsetMin: number): void {
    this.timezone = name;
    this.utcOffsetMin = utcOffsetMin;
  }

  constructor(
    readonly world: World,
    o: { project?: 'uis' | 'comagic'; name?: string } = {},
  ) {
    const ids = world.ids;
    this.appId = ids.take('app');
    this.project = o.project ?? 'uis';
    this.name = o.name ?? (world.accounts.length === 0 ? 'ООО «Ромашка»' : `Клиент ${this.appId}`);
    this.login = `admin${this.appId}`;
    this.password = `pass-${this.appId}`;
    this.dataApiToken = randomKey(40);
    const seed = seedAccount(ids, world.clock.now(), this.name);
    this.employees = seed.employees;
    this.sites = seed.sites;
    this.sources = seed.sources;
    this.campaigns = seed.campaigns;
    this.channels = seed.channels;
    const waba = this.channels.find((c) => c.type === 'waba');
    if (waba) waba.messageTemplates = wabaTemplates(ids, isoMicro(world.clock.now() - 30 * 86_400_000));
    this.budget = new PointBudget(world.clock);
  }

  // ---------------------------------------------------------------- public API (UisAccount)

  adapter(): ReturnType<UisAccount['adapter']> {
    const c = this.activeConnection();
    const a = c ? this.world.adapters.get(c.adapterId) : undefined;
    if (!a) return null;
    return {
      id: a.id,
      type: a.type,
      name: a.name,
      webhookUrl: a.webhookUrl,
      webhookAuth: a.webhookAuth ?? (a.webhookToken ? { type: 'Bearer', token: a.webhookToken } : null),
      webhookVersion: a.webhookVersion,
      login: a.login,
      supportedChannelTypes: [...a.supportedChannelTypes],
    };
  }

  connection(): ReturnType<UisAccount['connection']> {
    const c = this.activeConnection();
    return c ? { id: c.id, adapterId: c.adapterId, name: c.name, channels: [...c.channels], status: c.status } : null;
  }

  adapterChannels(): ReturnType<UisAccount['adapterChannels']> {
    const c = this.activeConnection();
    if (!c) return [];
    return [...this.world.adapterChannels.values()]
      .filter((ac) => ac.connectionId === c.id && ac.status === 'active')
      .map((ac) => {
        const ch = this.channels.find((x) => x.id === ac.chatChannelId)!;
        return { id: ac.id, accountId: c.id, chatChannelId: ch.id, type: ch.type, name: ch.name, status: ch.status ?? 'active' };
      });
  }

  chats(): ReturnType<UisAccount['chats']> {
    return this.chatList.map((c) => ({
      id: c.id,
      channelType: c.channelType,
      chatChannelId: c.chatChannelId,
      visitorId: c.visitorId,
      status: c.status,
      operatorId: c.operatorId,
      initiator: c.initiator,
      closeReason: c.closeReason,
      messages: c.messages.map((m) => ({ ...m })),
    }));
  }

  uploadedChats(): UploadedChat[] {
    return this.uploaded.map((u) => structuredClone(u));
  }

  uploadedOfflineMessages(): UploadedOfflineMessage[] {
    return this.uploadedOffline.map((u) => structuredClone(u));
  }

  settle(): Promise<void> {
    return this.world.callbacks.settle(this.appId);
  }

  addSession(o: { id?: number; siteId?: number; campaignId?: number; startedAt?: number; utm?: VisitorSession['utm'] } = {}): VisitorSession {
    const siteId = o.siteId ?? this.sites[0]!.id;
    const campaignId =
      o.campaignId ?? this.campaigns.find((c) => c.site_id === siteId && c.type === 'basic')?.id ?? this.campaigns.find((c) => c.site_id === siteId)!.id;
    const s: VisitorSession = { id: o.id ?? this.world.ids.take('session'), siteId, campaignId, startedAt: o.startedAt ?? this.world.clock.now(), visitorId: null, utm: o.utm ?? {} };
    this.sessions.push(s);
    return s;
  }

  setDataApiLimits(o: { day?: number; minute?: number }): void {
    this.budget.set(o);
  }

  /** The next `times` operator messages in this chat end in `error` instead of `delivered`. */
  failDelivery(chatId: number, times = 1): void {
    this.failNextDeliveries.set(chatId, (this.failNextDeliveries.get(chatId) ?? 0) + times);
  }

  async visitorWrite(o: {
    channelType: ChannelType;
    visitor: VisitorIdentity;
    text?: string;
    file?: FileInput;
  }): Promise<{ chatId: number; messageId: number; visitorId: number; sessionId: number | null }> {
    const channel = this.channelOf(o.channelType);
    if (!o.text && !o.file) throw new Error('visitorWrite: text or file is required');
    const { visitor, created } = this.visitorFor(channel.type, o.visitor);
    let chat = this.activeChat(visitor.id, channel.id);
    const newChat = !chat;
    if (!chat) chat = this.newChat(channel, visitor, { initiator: 'visitor', operatorId: null, startedVia: 'visitor' });
    const now = this.world.clock.now();
    const resource = o.file ? this.createResource(channel.id, o.file) : undefined;
    const message: UisMessage = {
      id: this.world.ids.take('message'),
      chatId: chat.id,
      source: 'visitor',
      text: o.text ?? '',
      ...(resource ? { resource: this.resourceView(resource) } : {}),
      operatorId: null,
      status: 'sent',
      createdAt: now,
      replyToId: null,
      systemMnemonic: null,
      origin: 'visitor',
    };
    // WABA: a visitor's message opens a 24-hour free-form window (Chat API §"Работа с каналом типа waba").
    if (channel.type === 'waba') chat.conversationFrameTs = Math.floor(now / 1000) + 24 * 3600;
    chat.messages.push(message);
    const sent: Array<Promise<Outcome>> = [];
    const c = chat;
    if (newChat) sent.push(this.emit(channel, (r) => ({ path: '/chat', method: 'POST', body: chatPayload(this, r, c, visitor) })));
    sent.push(this.emit(channel, (r) => ({ path: '/message', method: 'POST', body: messagePayload(this, r, c, message) })));
    // A new visitor whose messenger profile tells more than /chat carries (name, e-mail) gets a card.
    // The docs do not say when UIS sends /visitor/card; this is our reading of "visitor info updated".
    if (created && (visitor.name || visitor.email)) {
      sent.push(this.emit(channel, (r) => ({ path: '/visitor/card', method: 'POST', body: visitorCardPayload(this, r, visitor, this.cardOf(visitor)) })));
    }
    await Promise.all(sent);
    return { chatId: chat.id, messageId: message.id, visitorId: visitor.id, sessionId: visitor.sessionId };
  }

  /**
   * A visitor sends an offline request (a site form or the consultant's offline form,
   * `Comagic.addOfflineRequest`). UIS sends the adapter no callback for it: the report lists it.
   */
  offlineRequest(o: { name?: string; phone?: string; email?: string; text: string; formName?: string; sessionId?: number }): OfflineRequest {
    const r: OfflineRequest = {
      id: this.world.ids.take('offline'),
      createdAt: this.world.clock.now(),
      text: o.text,
      formName: o.formName ?? null,
      formType: o.formName ? 'Пользовательская' : 'Стандартная',
      visitorName: o.name ?? null,
      phone: phoneDigits(o.phone),
      email: o.email?.trim().toLowerCase() || null,
      sessionId: o.sessionId ?? null,
      status: 'not_processed',
      employeeId: null,
    };
    this.offlineRequests.push(r);
    return r;
  }

  async visitorCard(chatId: number, card: { name?: string; phones?: string[]; emails?: string[]; company?: string; comment?: string }): Promise<void> {
    const chat = this.chatOrThrow(chatId);
    const visitor = this.visitorOf(chat);
    if (card.name !== undefined) visitor.name = card.name;
    if (card.phones?.[0]) visitor.phone = phoneDigits(card.phones[0]);
    if (card.emails?.[0]) visitor.email = card.emails[0].toLowerCase();
    const body = {
      name: card.name ?? visitor.name,
      company: card.company ?? null,
      comment: card.comment ?? null,
      phones: (card.phones ?? (visitor.phone ? [visitor.phone] : [])).map((p) => phoneDigits(p) ?? p),
      emails: card.emails ?? (visitor.email ? [visitor.email] : []),
    };
    await this.emit(this.channelById(chat.chatChannelId), (r) => ({ path: '/visitor/card', method: 'POST', body: visitorCardPayload(this, r, visitor, body) }));
  }

  /**
   * The visitor edits a message in the messenger (addition). UIS keeps the new text (the Data API
   * reports show it) and tells a v2 adapter with «Обновление сообщения»: POST /message with the
   * same `id` and no `source`/`status`/`operator_id` (Chat API §"Обратные вызовы"; v1 has no such
   * callback, §"Переход с версии обратного вызова v1 на v2").
   */
  async visitorEdit(messageId: number, text: string): Promise<void> {
    const chat = this.chatList.find((c) => c.messages.some((m) => m.id === messageId));
    const m = chat?.messages.find((x) => x.id === messageId);
    if (!chat || !m) throw new DomainError(`Message ${messageId} not found`, 404);
    if (m.source !== 'visitor') throw new Error(`visitorEdit: message ${messageId} is not the visitor's`);
    m.text = text;
    m.editedAt = this.world.clock.now();
    const channel = this.channelById(chat.chatChannelId);
    const route = this.world.route(this, channel);
    if (!route || route.adapter.webhookVersion !== 'v2') return;
    await this.world.callbacks.send(this, route.adapter, { path: '/message', method: 'POST', body: messageEditPayload(this, route, chat, m) });
  }

  /**
   * UIS changes a chat channel (addition): renamed, disabled / enabled again (`status`,
   * `status_reason`), or — WABA — its templates. The adapter whose connection carries the channel
   * gets «Изменение канала»: PATCH `/channel/{channel_id}` with the whole Channel (Chat API
   * §"Обратные вызовы"). While disabled the channel still takes messages (kept, listed by the
   * reports) but no callback reaches the adapter, and none is replayed when it is enabled again.
   */
  async updateChannel(
    channel: ChannelType | number,
    change: { name?: string; status?: 'active' | 'disabled'; statusReason?: string; templates?: MessageTemplate[] },
  ): Promise<void> {
    const ch = typeof channel === 'number' ? this.channelById(channel) : this.channelOf(channel);
    if (change.name !== undefined) ch.name = change.name;
    if (change.status !== undefined) {
      ch.status = change.status;
      ch.statusReason = change.statusReason ?? '';
    }
    if (change.templates !== undefined) ch.messageTemplates = change.templates;
    const c = this.activeConnection();
    const adapter = c ? this.world.adapters.get(c.adapterId) : undefined;
    const ac = c ? [...this.world.adapterChannels.values()].find((x) => x.connectionId === c.id && x.chatChannelId === ch.id && x.status === 'active') : undefined;
    // a disabled connection or adapter hears nothing (see updateConnection)
    if (!c || !adapter || !ac || c.status !== 'active' || adapter.status !== 'active') return;
    await this.world.callbacks.send(this, adapter, { path: `/channel/${ac.id}`, method: 'PATCH', body: channelPayload(c, ac, ch) });
  }

  /**
   * UIS changes the adapter's connection to this account (addition): renamed or disabled /
   * enabled again. «Изменение аккаунта»: PATCH `/account/{account_id}` with the whole Account,
   * `status` included (Chat API §"Обратные вызовы"). While disabled, no callback of any channel
   * reaches the adapter and the runtime API refuses the account (404, like an unknown one);
   * nothing is replayed when it is enabled again.
   */
  async updateConnection(change: { name?: string; status?: 'active' | 'disabled' }): Promise<void> {
    const c = this.activeConnection();
    if (!c) throw new Error(`uis emulator: account ${this.appId} has no adapter connection`);
    if (change.name !== undefined) c.name = change.name;
    if (change.status !== undefined) c.status = change.status;
    const adapter = this.world.adapters.get(c.adapterId);
    if (!adapter || adapter.status !== 'active') return;
    await this.world.callbacks.send(this, adapter, { path: `/account/${c.id}`, method: 'PATCH', body: accountPayload(c) });
  }

  async workspaceReply(chatId: number, operatorId: number, text: string): Promise<void> {
    await this.operatorMessage({ chat: this.chatOrThrow(chatId), operatorId, text, origin: 'workspace' });
  }

  closeChatByVisitor(chatId: number): Promise<void> {
    return this.closeChat(chatId, 'closed_by_visitor');
  }

  /** UIS closes a chat for any documented reason (timeout, visitor left …) and tells the adapter. */
  async closeChat(chatId: number, reason: CloseReason, operatorId?: number): Promise<void> {
    const chat = this.chatOrThrow(chatId);
    if (chat.status === 'closed') return;
    this.markClosed(chat, reason, operatorId);
    await this.emit(this.channelById(chat.chatChannelId), (r) => ({ path: '/chat/close', method: 'POST', body: chatClosePayload(this, r, chat) }));
  }

  /** The visitor has seen the operator's messages: `/message/status` `read` for each. */
  async visitorRead(chatId: number): Promise<void> {
    const chat = this.chatOrThrow(chatId);
    const channel = this.channelById(chat.chatChannelId);
    const sends: Array<Promise<Outcome>> = [];
    for (const m of chat.messages) {
      if (m.source !== 'operator' || (m.status !== 'delivered' && m.status !== 'sent')) continue;
      m.status = 'read';
      sends.push(this.emit(channel, (r) => ({ path: '/message/status', method: 'POST', body: statusPayload(this, r, chat, m) })));
    }
    await Promise.all(sends);
  }

  // ---------------------------------------------------------------- chat engine (runtime API, workspace)

  channelOf(type: ChannelType): ChatChannel {
    const ch = this.channels.find((c) => c.type === type && !c.isRemoved);
    if (!ch) throw new Error(`uis emulator: account ${this.appId} has no ${type} channel`);
    return ch;
  }

  channelById(id: number): ChatChannel {
    const ch = this.channels.find((c) => c.id === id);
    if (!ch) throw new Error(`uis emulator: no chat channel ${id}`);
    return ch;
  }

  chatOrThrow(chatId: number): Chat {
    const chat = this.chatList.find((c) => c.id === chatId);
    if (!chat) throw new DomainError(`Chat ${chatId} not found`, 404);
    return chat;
  }

  visitorOf(chat: Chat): Visitor {
    return this.visitors.find((v) => v.id === chat.visitorId)!;
  }

  employee(id: number | undefined | null): Employee | undefined {
    return this.employees.find((e) => e.id === id);
  }

  /** An operator must exist in the account and be allowed to chat (Chat API §"Создание чата": "иметь соответствующие привилегии"). */
  operatorOrThrow(id: number): Employee {
    const e = this.employee(id);
    if (!e) throw new DomainError(`Operator ${id} not found`, 400);
    if (!e.operator_chat_enabled) throw new DomainError(`Operator ${id} is not allowed to participate in chats`, 400);
    return e;
  }

  /**
   * Starts an outbound chat (Chat API §"Создание чата"). An active chat with the same visitor on
   * the channel is returned as is (the docs do not say; a platform keeps one open dialog per
   * visitor and channel). Adapter-started chats get only the `chat_started` system message
   * callback (§"Примеры"); workspace-started ones also a `/chat` callback.
   */
  async startOutboundChat(o: {
    channel: ChatChannel;
    operatorId: number;
    phone?: string | null;
    email?: string | null;
    username?: string | null;
    origin: 'adapter' | 'workspace';
  }): Promise<{ chat: Chat; visitor: Visitor; created: boolean }> {
    const operator = this.operatorOrThrow(o.operatorId);
    const { visitor } = this.visitorFor(o.channel.type, { phone: o.phone ?? undefined, email: o.email ?? undefined, username: o.username ?? undefined });
    const existing = this.activeChat(visitor.id, o.channel.id);
    if (existing) return { chat: existing, visitor, created: false };
    const chat = this.newChat(o.channel, visitor, { initiator: 'operator', operatorId: operator.id, startedVia: o.origin });
    const sys: UisMessage = {
      id: this.world.ids.take('message'),
      chatId: chat.id,
      source: 'system',
      text: `Чат начат оператором ${operator.first_name}`,
      operatorId: null,
      status: 'sent',
      createdAt: chat.createdAt,
      replyToId: null,
      systemMnemonic: 'chat_started',
      origin: 'platform',
    };
    chat.messages.push(sys);
    const sends: Array<Promise<Outcome>> = [];
    if (o.origin === 'workspace') sends.push(this.emit(o.channel, (r) => ({ path: '/chat', method: 'POST', body: chatPayload(this, r, chat, visitor) })));
    sends.push(this.emit(o.channel, (r) => ({ path: '/message', method: 'POST', body: messagePayload(this, r, chat, sys) })));
    await Promise.all(sends);
    return { chat, visitor, created: true };
  }

  /**
   * An operator message (runtime `POST /v1/adapter/message` or the workspace). Rules: the chat must
   * be active; WABA outside the 24-hour window needs `context.template` naming one of the
   * channel's templates. Then UIS reports delivery: `/message/status` accepted → sent → delivered
   * (or error), spaced on the clock.
   */
  async operatorMessage(o: {
    chat: Chat;
    operatorId: number;
    text?: string | null;
    resource?: Resource;
    replyToId?: number | null;
    createdAtRaw?: string;
    template?: { id: number } & Record<string, unknown>;
    origin: 'adapter' | 'workspace';
  }): Promise<UisMessage> {
    const { chat } = o;
    if (chat.status === 'closed') throw new DomainError(`Chat ${chat.id} is closed`, 400);
    this.operatorOrThrow(o.operatorId);
    if (o.replyToId != null && !chat.messages.some((m) => m.id === o.replyToId)) {
      throw new DomainError(`Message ${o.replyToId} not found in chat ${chat.id}`, 400);
    }
    const channel = this.channelById(chat.chatChannelId);
    let text = o.text ?? '';
    let templateId: number | undefined;
    if (channel.type === 'waba') {
      const open = chat.conversationFrameTs !== null && chat.conversationFrameTs * 1000 > this.world.clock.now();
      if (o.template) {
        const t: MessageTemplate | undefined = channel.messageTemplates?.find((x) => x.id === o.template!.id);
        if (!t) throw new DomainError(`Message template ${o.template.id} not found for channel`, 400);
        templateId = t.id;
        if (!text) text = typeof o.template.text === 'string' ? o.template.text : t.content.text;
      } else if (!open) {
        throw new DomainError('Conversation window is closed: a WABA message outside the window must use a message template (context.template)', 400);
      }
    }
    if (!text && !o.resource) throw new DomainError('Message must contain text or resource', 400);
    const now = this.world.clock.now();
    const m: UisMessage = {
      id: this.world.ids.take('message'),
      chatId: chat.id,
      source: 'operator',
      text,
      ...(o.resource ? { resource: this.resourceView(o.resource) } : {}),
      operatorId: o.operatorId,
      status: 'accepted',
      createdAt: now,
      ...(o.createdAtRaw ? { createdAtRaw: o.createdAtRaw } : {}),
      replyToId: o.replyToId ?? null,
      systemMnemonic: null,
      origin: o.origin,
      ...(templateId !== undefined ? { templateId } : {}),
    };
    chat.messages.push(m);
    const sends: Array<Promise<Outcome>> = [];
    if (chat.operatorId === null) {
      chat.operatorId = o.operatorId;
      if (o.origin === 'workspace') sends.push(this.emitOperatorChange(chat));
    }
    if (o.origin === 'workspace') sends.push(this.emit(channel, (r) => ({ path: '/message', method: 'POST', body: messagePayload(this, r, chat, m) })));
    await Promise.all(sends);
    this.scheduleStatuses(chat, m);
    return m;
  }

  async closeByOperator(chat: Chat, operatorId: number, origin: 'adapter' | 'workspace'): Promise<void> {
    if (chat.status === 'closed') throw new DomainError(`Chat ${chat.id} is already closed`, 400);
    this.operatorOrThrow(operatorId);
    this.markClosed(chat, 'closed_by_operator', operatorId);
    if (origin === 'workspace') {
      await this.emit(this.channelById(chat.chatChannelId), (r) => ({ path: '/chat/close', method: 'POST', body: chatClosePayload(this, r, chat) }));
    }
  }

  async transfer(chat: Chat, fromId: number, toId: number, origin: 'adapter' | 'workspace'): Promise<void> {
    if (chat.status === 'closed') throw new DomainError(`Chat ${chat.id} is closed`, 400);
    if (chat.operatorId !== fromId) throw new DomainError(`Operator ${fromId} is not the current operator of chat ${chat.id}`, 400);
    this.operatorOrThrow(toId);
    chat.operatorId = toId;
    chat.transferred = true;
    if (origin === 'workspace') await this.emitOperatorChange(chat);
  }

  createResource(chatChannelId: number, f: FileInput, type?: ResourceType): Resource {
    const r: Resource = {
      id: this.world.ids.take('resource'),
      token: randomHex(16),
      type: type ?? resourceTypeFor(f.mime),
      name: f.name,
      size: f.content.length,
      mime: f.mime || 'application/octet-stream',
      content: f.content,
      appId: this.appId,
      chatChannelId,
    };
    this.world.resources.set(r.id, r);
    return r;
  }

  resourceView(r: Resource): ResourceView & { mime: string } {
    return { id: r.id, token: r.token, type: r.type, name: r.name, size: r.size, mime: r.mime };
  }

  /** Visitors with this identity, newest chat first — what the workspace opens on `?phone=` etc. */
  chatsForClient(q: { phone?: string | null; email?: string | null; username?: string | null; chatId?: number | null }): Chat[] {
    if (q.chatId) return this.chatList.filter((c) => c.id === q.chatId);
    const phone = phoneDigits(q.phone);
    const email = q.email?.trim().toLowerCase() || null;
    const username = bareUsername(q.username);
    const vids = new Set(
      this.visitors
        .filter((v) => (phone && v.phone === phone) || (email && v.email === email) || (username && v.username?.toLowerCase() === username.toLowerCase()))
        .map((v) => v.id),
    );
    return this.chatList.filter((c) => vids.has(c.visitorId)).sort((a, b) => b.createdAt - a.createdAt);
  }

  // ---------------------------------------------------------------- internals

  /** The account's connection (the latest; a disabled one too — DELETE removes it). */
  private activeConnection() {
    const list = [...this.world.connections.values()].filter((c) => c.appId === this.appId);
    return list.filter((c) => c.status === 'active').at(-1) ?? list.at(-1) ?? null;
  }

  private emit(channel: ChatChannel, build: (r: Route) => Outgoing): Promise<Outcome> {
    const route = this.world.route(this, channel);
    if (!route) return Promise.resolve('skipped');
    return this.world.callbacks.send(this, route.adapter, build(route));
  }

  /** v2: PATCH /chat; v1: POST /chat/operator (Chat API §"Переход с версии обратного вызова v1 на v2"). */
  private emitOperatorChange(chat: Chat): Promise<Outcome> {
    const channel = this.channelById(chat.chatChannelId);
    const route = this.world.route(this, channel);
    if (!route) return Promise.resolve('skipped');
    const body = chatOperatorPayload(this, route, chat);
    const cb: Outgoing = route.adapter.webhookVersion === 'v1' ? { path: '/chat/operator', method: 'POST', body } : { path: '/chat', method: 'PATCH', body };
    return this.world.callbacks.send(this, route.adapter, cb);
  }

  /**
   * All status steps are put on the clock at once (cumulative delays), so a hand-driven clock
   * wakes them with one `advance`; the per-adapter callback queue keeps them in order.
   */
  private scheduleStatuses(chat: Chat, m: UisMessage): void {
    const channel = this.channelById(chat.chatChannelId);
    const d = this.world.config.statusDelaysMs;
    const order = ['accepted', 'sent', 'delivered', 'read'];
    const step = (status: 'accepted' | 'sent' | 'delivered' | 'error') => {
      // never move a status backwards (the visitor may have read it already)
      if (status !== 'error' && order.indexOf(m.status) > order.indexOf(status)) return;
      m.status = status;
      void this.emit(channel, (r) => ({ path: '/message/status', method: 'POST', body: statusPayload(this, r, chat, m) }));
    };
    const failing = (this.failNextDeliveries.get(chat.id) ?? 0) > 0;
    if (failing) this.failNextDeliveries.set(chat.id, this.failNextDeliveries.get(chat.id)! - 1);
    const plan: Array<[number, 'accepted' | 'sent' | 'delivered' | 'error']> = failing
      ? [[d.accepted, 'accepted'], [d.accepted + d.sent, 'error']]
      : [[d.accepted, 'accepted'], [d.accepted + d.sent, 'sent'], [d.accepted + d.sent + d.delivered, 'delivered']];
    for (const [at, status] of plan) this.world.callbacks.later(this, at, () => step(status));
  }

  private markClosed(chat: Chat, reason: CloseReason, operatorId?: number): void {
    chat.status = 'closed';
    chat.closeReason = reason;
    chat.closedAt = this.world.clock.now();
    if (operatorId !== undefined && chat.operatorId === null) chat.operatorId = operatorId;
  }

  private activeChat(visitorId: number, chatChannelId: number): Chat | undefined {
    return this.chatList.find((c) => c.visitorId === visitorId && c.chatChannelId === chatChannelId && c.status === 'active');
  }

  private newChat(channel: ChatChannel, visitor: Visitor, o: { initiator: Chat['initiator']; operatorId: number | null; startedVia: Chat['startedVia'] }): Chat {
    const chat: Chat = {
      id: this.world.ids.take('chat'),
      appId: this.appId,
      chatChannelId: channel.id,
      channelType: channel.type,
      visitorId: visitor.id,
      status: 'active',
      operatorId: o.operatorId,
      initiator: o.initiator,
      createdAt: this.world.clock.now(),
      closedAt: null,
      closeReason: null,
      messages: [],
      conversationFrameTs: null,
      transferred: false,
      startedVia: o.startedVia,
    };
    this.chatList.push(chat);
    return chat;
  }

  private cardOf(v: Visitor) {
    return { name: v.name, company: null, comment: null, phones: v.phone ? [v.phone] : [], emails: v.email ? [v.email] : [] };
  }

  /**
   * Finds or creates the visitor behind an identity on a channel type. What identifies a person
   * depends on the messenger: a phone for WhatsApp/WABA/SMS/Viber, an address for e-mail,
   * @username (or phone) for Telegram, the site session for the web chat, a display name elsewhere.
   */
  visitorFor(type: ChannelType, id: VisitorIdentity): { visitor: Visitor; created: boolean } {
    const phone = phoneDigits(id.phone);
    const email = id.email?.trim().toLowerCase() || null;
    const username = bareUsername(id.username);
    const name = id.name?.trim() || null;
    const same = (v: Visitor) => v.channelType === type;
    let found: Visitor | undefined;
    switch (type) {
      case 'whatsapp':
      case 'waba':
      case 'sms':
      case 'viber':
        if (!phone) throw new DomainError(`A ${type} visitor needs a phone number`, 400);
        found = this.visitors.find((v) => same(v) && v.phone === phone);
        break;
      case 'email':
        if (!email) throw new DomainError('An email visitor needs an e-mail address', 400);
        found = this.visitors.find((v) => same(v) && v.email === email);
        break;
      case 'telegram_private':
        if (!username && !phone) throw new DomainError('A telegram_private visitor needs @username or a phone number', 400);
        found = this.visitors.find((v) => same(v) && ((username && v.username === username) || (phone && v.phone === phone)));
        break;
      case 'comagic':
        found =
          (id.sessionId !== undefined && this.visitors.find((v) => same(v) && v.sessionId === id.sessionId)) ||
          (phone && this.visitors.find((v) => same(v) && v.phone === phone)) ||
          (email && this.visitors.find((v) => same(v) && v.email === email)) ||
          undefined;
        break;
      default:
        if (!username && !name && !phone) throw new DomainError(`A ${type} visitor needs a name, @username or phone`, 400);
        found = this.visitors.find(
          (v) => same(v) && ((username && v.username === username) || (!username && name && v.name === name) || (!username && !name && phone && v.phone === phone)),
        );
    }
    if (found) {
      // a returning site visitor on a new visit: the chat belongs to the current session
      if (type === 'comagic' && id.sessionId !== undefined && found.sessionId !== id.sessionId) {
        const session = this.sessions.find((s) => s.id === id.sessionId) ?? this.addSession({ id: id.sessionId });
        session.visitorId = found.id;
        found.sessionId = session.id;
      }
      if (name) found.name = name;
      if (phone && !found.phone) found.phone = phone;
      if (email && !found.email) found.email = email;
      if (username && !found.username) found.username = username;
      return { visitor: found, created: false };
    }
    const visitor: Visitor = { id: this.world.ids.take('visitor'), channelType: type, name, phone, email, username, sessionId: null };
    if (type === 'comagic') {
      // The web chat runs on the site: the visitor has a session (JS API Comagic.getSessionId()).
      const known = id.sessionId !== undefined ? this.sessions.find((s) => s.id === id.sessionId) : undefined;
      const session = known ?? this.addSession(id.sessionId !== undefined ? { id: id.sessionId } : {});
      session.visitorId = visitor.id;
      visitor.sessionId = session.id;
    }
    this.visitors.push(visitor);
    return { visitor, created: true };
  }
}

