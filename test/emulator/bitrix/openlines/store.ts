/**
 * In-memory Open Lines of one portal: configs (seed line 1 «Открытая линия 1» with CRM Y,
 * CRM_CREATE lead, CRM_SOURCE create), chat users, chats by USER_CODE, sessions, messages, files,
 * and the livechat widget cache (CUSTOM_DATA per widget user, imopenlines Widget\Cache).
 * Ids come from separate sequences so chat, session, message and user ids never look alike.
 */
import type { ChatUser, LineConfig, OlChat, OlFile, OlMessage, OlSession } from './types';

export class OpenLinesStore {
  readonly lines = new Map<number, LineConfig>();
  readonly users = new Map<number, ChatUser>();
  readonly chats = new Map<number, OlChat>();
  readonly sessions = new Map<number, OlSession>();
  readonly messages = new Map<number, OlMessage>();
  readonly files = new Map<number, OlFile>();
  /** widget user id → CUSTOM_DATA JSON (Widget\Cache 'CUSTOM_DATA') */
  readonly widgetCache = new Map<number, string>();
  /** widget user id → the visitor's own LIVECHAT chat id (the external chat id of its USER_CODE) */
  readonly widgetChats = new Map<number, number>();
  private readonly seq = { line: 0, user: 584, chat: 1762, session: 322, message: 19000, file: 7100 };

  constructor(now: number) {
    this.addLine({ name: 'Открытая линия 1' }, now, 1);
  }

  next(kind: keyof OpenLinesStore['seq']): number {
    return ++this.seq[kind];
  }

  addLine(p: Partial<LineConfig>, now: number, userId: number): LineConfig {
    const line: LineConfig = {
      id: this.next('line'),
      name: 'Открытая линия',
      active: 'Y',
      crm: 'Y',
      crmCreate: 'lead',
      crmSource: 'create',
      crmChatTracker: 'Y',
      crmForward: 'Y',
      queueType: 'evenly',
      queue: [1, 2],
      welcomeMessage: 'N',
      welcomeMessageText: 'Здравствуйте! Чем мы можем помочь?',
      showOperatorData: 'Y',
      fullCloseTime: 10,
      dateCreate: now,
      modifyUserId: userId,
      ...p,
    };
    if (!p.name) line.name = `Открытая линия ${line.id}`;
    this.lines.set(line.id, line);
    return line;
  }

  userByExternal(connector: string, externalId: string): ChatUser | undefined {
    return [...this.users.values()].find((u) => u.connector === connector && u.externalId === externalId);
  }

  chatByUserCode(userCode: string): OlChat | undefined {
    return [...this.chats.values()].find((c) => c.userCode === userCode);
  }

  chatByExternal(connector: string, lineId: number, externalChatId: string, userId?: number): OlChat | undefined {
    return [...this.chats.values()].find(
      (c) => c.connector === connector && c.lineId === lineId && c.externalChatId === externalChatId && (userId === undefined || c.userId === userId),
    );
  }

  /** The chat's latest session (open or closed). */
  lastSession(chat: OlChat): OlSession | undefined {
    const id = chat.sessionIds[chat.sessionIds.length - 1];
    return id === undefined ? undefined : this.sessions.get(id);
  }

  openSession(chat: OlChat): OlSession | undefined {
    const s = this.lastSession(chat);
    return s && !s.closed ? s : undefined;
  }

  chatMessages(chat: OlChat): OlMessage[] {
    return chat.messageIds.map((id) => this.messages.get(id)).filter((m): m is OlMessage => !!m);
  }
}
