import { CONNECTOR_ID } from '../../../install/plan';
import type { BitrixEvent } from '../../bitrix/event-schemas';
import { echoKey, uisChatIdOf } from './identity';
import type { AsyncPort } from '../async-port';
import type { BridgeRepository } from './ports';

type Row = Record<string, unknown>;
const obj = (v: unknown): Row => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Row) : {});
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : v && typeof v === 'object' ? Object.values(v) : []);

export interface BridgeEventDeps {
  bridge: AsyncPort<BridgeRepository>;
  now(): number;
  /** `gatherMs`: what was queued waits that long on purpose */
  wake(gatherMs?: number): void;
  /** How long an operator's message waits before it is relayed (default OUTBOUND_GATHER_MS). */
  outboundGatherMs?: number;
  /** Whether our connector is active on the line now, as the portal says (`imconnector.status`). */
  connectorActive?(memberId: string, lineId: string): Promise<boolean>;
}

/**
 * Bitrix24's event queue keeps no order (docs/facts/bitrix24.md#event-delivery): an operator's two quick messages (a
 * file and its caption, say) can arrive swapped. Each waits this long before it is relayed, and one
 * whose event comes late is put ahead of the later messages of its chat that have not gone yet, so
 * UIS gets them in Bitrix24's order. One that comes after a later one was sent follows it; one
 * that comes while a later one is being sent follows it too, unless nothing of that one reached UIS
 * (relay-outbound.ts puts the chat back in order then).
 */
export const OUTBOUND_GATHER_MS = 1000;

/**
 * ONIMCONNECTORMESSAGEADD data (online event or its offline twin; docs/facts/bitrix24.md#imconnector-events):
 * each `MESSAGES[]` item becomes an outbound job keyed by the Bitrix24 message id, so the online
 * event and its offline twin, or a replay, are relayed once. Echoes of what we wrote into the
 * chat as an operator are ignored (docs/facts/uis.md#rule-10). Returns the number of new jobs.
 */
export function onMessageAdd(deps: BridgeEventDeps, memberId: string, data: unknown): Promise<number> {
  return oneAtATime(deps.bridge, memberId, () => messageAdd(deps, memberId, data));
}

/**
 * The online event and its offline twin (or a replay) may be handled at the same time. Each reads
 * (seen? an echo?) before it writes, so a portal's messages are taken one call at a time: otherwise
 * one could take the echo while the other, not seeing its link yet, queued the echo for UIS.
 */
const queues = new WeakMap<object, Map<string, Promise<unknown>>>();
function oneAtATime<T>(key: object, memberId: string, work: () => Promise<T>): Promise<T> {
  let perPortal = queues.get(key);
  if (!perPortal) queues.set(key, (perPortal = new Map()));
  const run = (perPortal.get(memberId) ?? Promise.resolve()).then(work);
  const tail = run.catch(() => undefined);
  perPortal.set(memberId, tail);
  void tail.then(() => {
    if (perPortal.get(memberId) === tail) perPortal.delete(memberId);
  });
  return run;
}

async function messageAdd(deps: BridgeEventDeps, memberId: string, data: unknown): Promise<number> {
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
    if (await deps.bridge.link(memberId, 'b24', b24MessageId)) continue; // seen already
    const text = String(message.text ?? '');
    const fileNames = list(message.files).map((f) => String(obj(f).name ?? ''));
    // taken for this message: its twin handled at once on another instance (past the link check
    // above, which this process's one-at-a-time guard cannot cover) finds it taken and drops it too
    if (await deps.bridge.takeEcho(memberId, extChat, echoKey(text, fileNames), b24MessageId)) {
      await deps.bridge.addLink(memberId, { origin: 'b24', key: b24MessageId, uisChatId, uisMessageId: null, b24ChatId: String(im.chat_id ?? ''), b24MessageId, state: 'skipped', error: 'echo of our own message' });
      continue;
    }
    const files = list(message.files).map((f) => {
      const x = obj(f);
      return { name: x.name, type: x.type, mime: x.mime, link: x.link, downloadLink: x.downloadLink, size: x.size };
    });
    const now = deps.now();
    const job = {
      memberId,
      kind: 'out' as const,
      chatKey: `o:${uisChatId}`,
      idemKey: `out:${b24MessageId}`,
      dueAt: now + (deps.outboundGatherMs ?? OUTBOUND_GATHER_MS),
      payload: { uisChatId, b24ChatId: String(im.chat_id ?? ''), b24MessageId, userId: String(message.user_id ?? ''), text, files },
    };
    // Later messages of the chat not sent yet go behind it, however late this event came: due ones,
    // retried ones (UIS down, say) too. Not one a run is sending (in flight, relay-outbound.ts) nor
    // one with a part in UIS already: those stay ahead.
    const overtake: number[] = [];
    for (const j of await deps.bridge.pendingOfChat(memberId, job.chatKey)) {
      if (j.kind !== 'out' || j.inflight || !(Number(j.payload.b24MessageId) > Number(b24MessageId))) continue;
      if (await deps.bridge.link(memberId, 'b24', `${String(j.payload.b24MessageId)}#0`)) continue;
      overtake.push(j.id);
    }
    const fresh = overtake.length ? await deps.bridge.enqueueAhead(job, overtake) : await deps.bridge.enqueue(job);
    if (fresh) {
      await deps.bridge.addLink(memberId, {
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
  if (n) deps.wake(deps.outboundGatherMs ?? OUTBOUND_GATHER_MS);
  return n;
}

/** Verified, first-seen Bitrix24 events the bridge reacts to. */
export async function onBridgeEvent(deps: BridgeEventDeps, memberId: string, ev: Pick<BitrixEvent, 'event' | 'data'>): Promise<void> {
  switch (ev.event) {
    case 'ONIMCONNECTORMESSAGEADD':
      await onMessageAdd(deps, memberId, ev.data);
      return;
    case 'ONIMCONNECTORSTATUSDELETE': {
      const d = obj(ev.data);
      const connector = String(d.connector ?? d.CONNECTOR ?? '').toLowerCase();
      const line = String(d.line ?? d.LINE ?? '');
      if (connector === CONNECTOR_ID && line && (await deps.bridge.binding(memberId, line))) {
        // The queue keeps no order and delivers late (docs/facts/bitrix24.md#event-delivery): a switch-off can arrive after the line was
        // connected again. The portal knows which is true now; if it cannot be asked, the event stands.
        const active = deps.connectorActive ? await deps.connectorActive(memberId, line).catch(() => false) : false;
        if (!active && (await deps.bridge.binding(memberId, line))) {
          await deps.bridge.setBindingStatus(memberId, line, 'off', 'The connector was switched off for this line in Bitrix24');
        }
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
        const chat = uisChatId ? await deps.bridge.chat(memberId, uisChatId) : null;
        if (!chat || String(obj(item.session).closed ?? 'Y') !== 'Y') continue;
        const sessionId = obj(item.session).id;
        // the chat and the UIS chats that continue it in the same open-line chat (continue-chat.ts)
        for (let c: typeof chat | null = chat, i = 0; c && i < 50; c = c.successorUisChatId ? await deps.bridge.chat(memberId, c.successorUisChatId) : null, i++) {
          if (c.extChatId !== ext) continue;
          if (sessionId !== undefined && c.b24SessionId && String(sessionId) !== c.b24SessionId) continue; // an older dialog
          // closed only while the chat's session is still this one (or not known yet): the client's
          // next message may have opened a new dialog since the read, and that one stays open
          await deps.bridge.closeB24Session(memberId, c.uisChatId, sessionId !== undefined ? String(sessionId) : c.b24SessionId);
        }
      }
      return;
    }
    case 'ONIMCONNECTORLINEDELETE': {
      const line = typeof ev.data === 'string' || typeof ev.data === 'number' ? String(ev.data) : String(obj(ev.data).LINE ?? obj(ev.data).line ?? '');
      if (line) await deps.bridge.unbind(memberId, line);
      return;
    }
    default:
  }
}
