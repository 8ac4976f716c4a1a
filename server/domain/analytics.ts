import type { AnalyticsSettings } from '../contracts/analytics';
import { prepareUpload, type Conversation, type UploadChatItem } from './analytics-pipeline';

/**
 * Open Lines as a source of the analytics pipeline (analytics-pipeline.ts): one open-line chat
 * behind a new lead/deal → one `upload.chats` item (docs/facts/uis.md#upload-chats, docs/facts/uis.md#attribution). No I/O here.
 */
export interface OpenLineChat {
  chatId: number;
  /** Bitrix24 connector id, lower-case (`livechat`, `telegrambot`, `uis_omni`…). */
  connector: string;
  /** ms since epoch. */
  createdAt: number;
  client: { name: string | null; phone: string | null; email: string | null };
  messages: Array<{ at: number; role: 'visitor' | 'operator' | 'system'; text: string }>;
  /** UIS visitor session id the site script handed to the live-chat widget, if any. */
  sessionId: number | null;
}

export type { UploadChatItem } from './analytics-pipeline';

export type BuildResult = { item: UploadChatItem; attribution: string } | { skip: string };

/** ext_id = portal + chat: a repeat of the same chat updates the uploaded one, never duplicates it. */
export function extIdFor(memberId: string, chatId: number): string {
  return `b24:${memberId}:${chatId}`;
}

/** An open-line chat as a conversation of the one analytics pipeline (its channel: the connector). */
export function openLineConversation(memberId: string, chat: OpenLineChat): Conversation {
  return {
    extId: extIdFor(memberId, chat.chatId),
    kind: 'chat',
    channel: chat.connector,
    startedAt: chat.createdAt,
    client: chat.client,
    sessionId: chat.sessionId,
    messages: chat.messages,
  };
}

export function buildUploadItem(memberId: string, chat: OpenLineChat, settings: AnalyticsSettings, now: number, timeZone: string): BuildResult {
  const r = prepareUpload(openLineConversation(memberId, chat), settings, now, timeZone);
  if ('skip' in r) return { skip: r.skip.startsWith('NO_CONTACT') ? 'NO_CONTACT: the chat has neither a phone nor an e-mail' : r.skip };
  return { item: r.item as UploadChatItem, attribution: r.attribution };
}

/**
 * The UIS session id the site script put into the live-chat widget's custom data. Markers are
 * parsed robustly (docs/facts/uis.md#rule-22): `uis_session_id=123`, `UIS session: 123`, or a
 * GRID row named so.
 */
export function extractUisSessionId(blobs: Array<string | null | undefined>): number | null {
  for (const b of blobs) {
    if (!b) continue;
    const m =
      // no two adjacent parts match the same characters (a `\s*` before the group that also takes
      // blanks made a run of blanks after `:` cost its square)
      /uis[\s_-]*session(?:[\s_-]*id)?(?:\[\/?\w+\]|["'\s])*[:=](?:\[\/?\w+\]|["'\s])*(\d{3,20})/i.exec(b) ??
      /"NAME"\s*:\s*"uis[\s_-]*session(?:[\s_-]*id)?"\s*,\s*"VALUE"\s*:\s*"?(\d{3,20})/i.exec(b);
    if (m) return Number(m[1]);
  }
  return null;
}
