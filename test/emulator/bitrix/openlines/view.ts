/** Plain snapshots of the open lines for tests (`portal.openLines`) and the operator screen. */
import { isoDate } from '../php';
import type { PortalCore } from '../types';
import { renderBbcode } from '../bbcode';
import { attachFromJson, type AttachBlock } from './attach';
import { connectorTitle } from './chat';
import { fileDownloadLink, fileLink } from './files';
import { deliveryMark } from './operator';
import type { CrmBinding, LineConfig, OlChat } from './types';

export interface OpenLineFileView {
  id: number;
  name: string;
  mime: string;
  size: number;
  /** false: the portal could not download it (broken file) */
  fetched: boolean;
  error: string;
  sourceUrl: string;
  link: string;
  downloadLink: string;
}

export interface OpenLineMessageView {
  id: number;
  sessionId: number;
  direction: 'in' | 'out' | 'system';
  authorId: number;
  /** as stored: BBCode */
  text: string;
  /** what the operator sees: the text rendered as Bitrix24 renders BBCode (../bbcode.ts) */
  html: string;
  date: string;
  /** an operator message sent through the connector before the chat was accepted: not shown */
  hidden: boolean;
  deleted: boolean;
  externalId: string;
  /** CONNECTOR_MID param (inbound: the external id; outgoing: ids from send.status.delivery) */
  connectorMid: string[];
  /** outgoing messages: what the operator sees */
  delivery: 'sending' | 'delivered' | 'not-delivered' | null;
  params: Record<string, unknown>;
  files: OpenLineFileView[];
}

export interface OpenLineSessionView {
  id: number;
  parentId: number;
  operatorId: number;
  accepted: boolean;
  closed: boolean;
  crm: CrmBinding;
  extra: Record<string, string>;
}

export interface OpenLineChatView {
  id: number;
  lineId: number;
  lineName: string;
  connector: string;
  connectorTitle: string;
  externalChatId: string;
  userCode: string;
  title: string;
  user: { id: number; externalId: string; name: string; lastName: string; phone: string; email: string };
  /** the current (last) session is accepted by an operator */
  accepted: boolean;
  closed: boolean;
  operatorId: number;
  participants: number[];
  sessions: OpenLineSessionView[];
  messages: OpenLineMessageView[];
  /** livechat: the blocks cached from widget.setCustomData (CUSTOM_DATA), else null */
  customData: AttachBlock[] | null;
}

export function lineView(l: LineConfig): LineConfig {
  return { ...l, queue: [...l.queue] };
}

export function chatView(portal: PortalCore, chat: OlChat): OpenLineChatView {
  const ol = portal.ol;
  const user = ol.users.get(chat.userId);
  const last = ol.lastSession(chat);
  const custom = ol.widgetCache.get(chat.userId);
  return {
    id: chat.id,
    lineId: chat.lineId,
    lineName: ol.lines.get(chat.lineId)?.name ?? '',
    connector: chat.connector,
    connectorTitle: connectorTitle(portal, chat.connector),
    externalChatId: chat.externalChatId,
    userCode: chat.userCode,
    title: chat.title,
    user: {
      id: chat.userId,
      externalId: user?.externalId ?? '',
      name: user?.name ?? '',
      lastName: user?.lastName ?? '',
      phone: user?.phone ?? '',
      email: user?.email ?? '',
    },
    accepted: !!last?.accepted,
    closed: !last || last.closed,
    operatorId: last?.operatorId ?? 0,
    participants: [...chat.participants],
    sessions: chat.sessionIds.flatMap((id) => {
      const s = ol.sessions.get(id);
      return s ? [{ id: s.id, parentId: s.parentId, operatorId: s.operatorId, accepted: s.accepted, closed: s.closed, crm: { ...s.crm }, extra: { ...s.extra } }] : [];
    }),
    messages: ol.chatMessages(chat).map((m) => ({
      id: m.id,
      sessionId: m.sessionId,
      direction: m.direction,
      authorId: m.authorId,
      text: m.text,
      html: renderBbcode(m.text),
      date: isoDate(m.date),
      hidden: m.hidden,
      deleted: m.deleted,
      externalId: m.externalId,
      connectorMid: Array.isArray(m.params.CONNECTOR_MID) ? m.params.CONNECTOR_MID.map(String) : [],
      delivery: m.direction === 'out' ? deliveryMark(portal, m) : null,
      params: { ...m.params },
      files: m.fileIds.flatMap((id) => {
        const f = ol.files.get(id);
        return f
          ? [{ id: f.id, name: f.name, mime: f.mime, size: f.size, fetched: f.fetched, error: f.error, sourceUrl: f.sourceUrl, link: fileLink(portal.origin, f), downloadLink: fileDownloadLink(portal.origin, f) }]
          : [];
      }),
    })),
    customData: custom ? (attachFromJson(custom, 0)?.BLOCKS ?? null) : null,
  };
}

export function chatsView(portal: PortalCore): OpenLineChatView[] {
  return [...portal.ol.chats.values()].sort((a, b) => a.id - b.id).map((c) => chatView(portal, c));
}
