import { CONNECTOR_ID } from '../../../install/plan';
import type { BitrixEvent } from '../../bitrix/event-schemas';
import { echoKey, uisChatIdOf } from './identity';
import type { BridgeRepository } from './ports';

type Row = Record<string, unknown>;
const obj = (v: unknown): Row => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Row) : {});
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : v && typeof v === 'object' ? Object.values(v) : []);

export interface BridgeEventDeps {
  bridge: BridgeRepository;
  now(): number;
  wake(): void;
}

/**
 * ONIMCONNECTORMESSAGEADD data (online event or its offline twin; bitrix24-rest.md §5.4):
 * each `MESSAGES[]` item becomes an outbound job keyed by the Bitrix24 message id, so the online
 * event and its offline twin, or a replay, are relayed once. Echoes of what we wrote into the
 * chat as an operator are ignored (§6.2 rule 10). Returns the number of new jobs.
 */
export function onMessageAdd(deps: BridgeEventDeps, memberId: string, data: unknown): number {
  const d = obj(data);
  if (String(d.CONNECTOR ?? '').toLowerCase() !== CONNECTOR_ID) return 0;
  let n = 0;
  for (const raw of list(d.MESSAGES)) {
    const m = obj(raw);
    const im = obj(m.im);
    const message = obj(m.message);
    const extChat = String(obj(m.chat).id ?? '');
    const b24MessageId = String(im.message_id ?? '');
    const uisChatId = uisChatIdOf(extChat);
    if (!b24MessageId || !uisChatId) continue;
    if (deps.bridge.link(memberId, 'b24', b24MessageId)) continue; // seen already
    const text = String(message.text ?? '');
    const fileNames = list(message.files).map((f) => String(obj(f).name ?? ''));
    if (deps.bridge.takeEcho(memberId, extChat, echoKey(text, fileNames))) {
      deps.bridge.addLink(memberId, { origin: 'b24', key: b24MessageId, uisChatId, uisMessageId: null, b24ChatId: String(im.chat_id ?? ''), b24MessageId, state: 'skipped', error: 'echo of our own message' });
      continue;
    }
    const files = list(message.files).map((f) => {
      const x = obj(f);
      return { name: x.name, type: x.type, mime: x.mime, link: x.link, downloadLink: x.downloadLink, size: x.size };
    });
    const fresh = deps.bridge.enqueue({
      memberId,
      kind: 'out',
      chatKey: `o:${uisChatId}`,
      idemKey: `out:${b24MessageId}`,
      dueAt: deps.now(),
      payload: { uisChatId, b24ChatId: String(im.chat_id ?? ''), b24MessageId, userId: String(message.user_id ?? ''), text, files },
    });
    if (fresh) {
      deps.bridge.addLink(memberId, {
        origin: 'b24',
        key: b24MessageId,
        uisChatId,
        uisMessageId: null,
        b24ChatId: String(im.chat_id ?? ''),
        b24MessageId,
        b24UserId: String(message.user_id ?? ''),
        state: 'queued',
        error: null,
      });
      n++;
    }
  }
  if (n) deps.wake();
  return n;
}

/** Verified, first-seen Bitrix24 events the bridge reacts to. */
export function onBridgeEvent(deps: BridgeEventDeps, memberId: string, ev: Pick<BitrixEvent, 'event' | 'data'>): void {
  switch (ev.event) {
    case 'ONIMCONNECTORMESSAGEADD':
      onMessageAdd(deps, memberId, ev.data);
      return;
    case 'ONIMCONNECTORSTATUSDELETE': {
      const d = obj(ev.data);
      const connector = String(d.connector ?? d.CONNECTOR ?? '').toLowerCase();
      const line = String(d.line ?? d.LINE ?? '');
      if (connector === CONNECTOR_ID && line && deps.bridge.binding(memberId, line)) {
        deps.bridge.setBindingStatus(memberId, line, 'off', 'The connector was switched off for this line in Bitrix24');
      }
      return;
    }
    case 'ONIMCONNECTORDIALOGFINISH': {
      // The operator finished the dialog in the open line. Seed rule («Как совместно работают»):
      // finishing in the open line does not finish the chat in the UIS workspace, so no runtime
      // closeChat — only the mapping learns it; the client's next message opens a new dialog.
      const d = obj(ev.data);
      if (String(d.CONNECTOR ?? d.connector ?? '').toLowerCase() !== CONNECTOR_ID) return;
      for (const raw of list(d.DATA ?? d.data)) {
        const item = obj(raw);
        const ext = String(obj(item.chat).id ?? obj(item.connector).chat_id ?? '');
        const uisChatId = uisChatIdOf(ext);
        const chat = uisChatId ? deps.bridge.chat(memberId, uisChatId) : null;
        if (!chat || String(obj(item.session).closed ?? 'Y') !== 'Y') continue;
        const sessionId = obj(item.session).id;
        // the chat and the UIS chats that continue it in the same open-line chat (continue-chat.ts)
        for (let c: typeof chat | null = chat, i = 0; c && i < 50; c = c.successorUisChatId ? deps.bridge.chat(memberId, c.successorUisChatId) : null, i++) {
          if (c.extChatId !== ext) continue;
          if (sessionId !== undefined && c.b24SessionId && String(sessionId) !== c.b24SessionId) continue; // an older dialog
          deps.bridge.upsertChat({ memberId, uisChatId: c.uisChatId, channelId: c.channelId, b24SessionClosed: true });
        }
      }
      return;
    }
    case 'ONIMCONNECTORLINEDELETE': {
      const line = typeof ev.data === 'string' || typeof ev.data === 'number' ? String(ev.data) : String(obj(ev.data).LINE ?? obj(ev.data).line ?? '');
      if (line) deps.bridge.unbind(memberId, line);
      return;
    }
    default:
  }
}
