import { CONNECTOR_ID } from '../../../install/plan';
import type { BatchCall, PortalRestClient } from '../../bitrix/rest-client';
import { extractUisSessionId, type OpenLineChat } from '../../domain/analytics';
import type { AnalyticsJob } from '../ports';

/**
 * Everything one lead/deal needs, in as few REST calls as possible: per entity the record, the
 * last open-line chat bound to it and that chat's session history, chained inside one `batch`
 * with `$result[...]` references (docs/facts/bitrix24.md#rest-batch, docs/facts/bitrix24.md#openlines-chats); many entities share a batch.
 */
export type Gathered = { job: AnalyticsJob; chat: OpenLineChat } | { job: AnalyticsJob; skip: string } | { job: AnalyticsJob; retry: string };

/**
 * A chat that reached the open line through our own connector is a UIS chat: UIS analytics counts
 * it already, so `upload.chats` would count the client twice (issue #11 item 17).
 */
export const OWN_CONNECTOR = 'OWN_CONNECTOR: the chat came through the UIS OMNI connector and is already in UIS analytics';

const COMMANDS_PER = { lead: 3, deal: 4 } as const;
export const MAX_COMMANDS = 50;

/** Split jobs into groups that fit one batch each. */
export function planBatches(jobs: AnalyticsJob[]): AnalyticsJob[][] {
  const out: AnalyticsJob[][] = [];
  let cur: AnalyticsJob[] = [];
  let n = 0;
  for (const j of jobs) {
    const need = COMMANDS_PER[j.entityType];
    if (n + need > MAX_COMMANDS) {
      out.push(cur);
      cur = [];
      n = 0;
    }
    cur.push(j);
    n += need;
  }
  if (cur.length) out.push(cur);
  return out;
}

export async function gather(rest: PortalRestClient, jobs: AnalyticsJob[]): Promise<Gathered[]> {
  const calls: Record<string, BatchCall> = {};
  for (const j of jobs) {
    const k = String(j.id);
    calls[`e${k}`] = { method: `crm.${j.entityType}.get`, params: { id: j.entityId } };
    calls[`c${k}`] = { method: 'imopenlines.crm.chat.getLastId', params: { CRM_ENTITY_TYPE: j.entityType.toUpperCase(), CRM_ENTITY: j.entityId } };
    calls[`h${k}`] = { method: 'imopenlines.session.history.get', params: { CHAT_ID: `$result[c${k}]` } };
    if (j.entityType === 'deal') calls[`k${k}`] = { method: 'crm.contact.get', params: { id: `$result[e${k}][CONTACT_ID]` } };
  }
  const r = await rest.batch(calls);
  return jobs.map((job): Gathered => {
    const k = String(job.id);
    const entity = r.result[`e${k}`] as Record<string, unknown> | undefined;
    if (!entity) {
      const err = r.errors[`e${k}`];
      return err && /not found/i.test(err.error_description) ? { job, skip: `ENTITY_NOT_FOUND: ${job.entityType} ${job.entityId} no longer exists` } : { job, retry: `crm.${job.entityType}.get: ${err?.error ?? 'no answer'}` };
    }
    const chatErr = r.errors[`c${k}`];
    if (chatErr) {
      return chatErr.error === 'CRM_CHAT_EMPTY_CRM_DATA' ? { job, skip: 'NOT_FROM_OPEN_LINE: no open-line chat behind this entity' } : { job, retry: `imopenlines.crm.chat.getLastId: ${chatErr.error}` };
    }
    const history = r.result[`h${k}`] as Record<string, unknown> | undefined;
    if (!history) return { job, retry: `imopenlines.session.history.get: ${r.errors[`h${k}`]?.error ?? 'no answer'}` };
    const contact = (r.result[`k${k}`] as Record<string, unknown> | undefined) ?? null;
    const chat = toChat(Number(r.result[`c${k}`]), entity, contact, history);
    return chat.connector === CONNECTOR_ID ? { job, skip: OWN_CONNECTOR } : { job, chat };
  });
}

type Row = Record<string, unknown>;
const pick = (o: Row, ...keys: string[]): unknown => {
  for (const k of keys) if (o[k] !== undefined) return o[k];
  return undefined;
};
const firstValue = (v: unknown): string | null => (Array.isArray(v) && v.length ? String((v[0] as Row).VALUE ?? '') || null : null);
const asRecord = (v: unknown): Row => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Row) : {});

function toChat(chatId: number, entity: Row, contact: Row | null, history: Row): OpenLineChat {
  const chats = asRecord(pick(history, 'CHAT', 'chat'));
  const chatInfo = asRecord(chats[String(chatId)]);
  const userCode = String(pick(chatInfo, 'entity_id', 'entityId') ?? '');
  const [connector = '', , , clientUser = ''] = userCode.split('|');
  const messages = Object.values(asRecord(pick(history, 'MESSAGE', 'message')))
    .map(asRecord)
    .map((m) => ({
      id: Number(m.id),
      at: Date.parse(String(m.date ?? '')) || 0,
      sender: String(pick(m, 'senderId', 'senderid') ?? '0'),
      text: String(pick(m, 'text', 'textLegacy') ?? ''),
      params: m.params,
    }))
    .sort((a, b) => a.at - b.at || a.id - b.id);
  const source = contact ?? entity;
  const name = [source.NAME, source.LAST_NAME].filter((x) => typeof x === 'string' && x).join(' ') || null;
  return {
    chatId,
    connector: connector.toLowerCase(),
    createdAt: Date.parse(String(entity.DATE_CREATE ?? '')) || messages[0]?.at || 0,
    client: { name, phone: firstValue(source.PHONE) ?? firstValue(entity.PHONE), email: firstValue(source.EMAIL) ?? firstValue(entity.EMAIL) },
    messages: messages.map((m) => ({
      at: m.at,
      role: m.sender === '0' ? 'system' : m.sender === clientUser ? 'visitor' : 'operator',
      text: stripBbCode(m.text),
    })),
    sessionId: extractUisSessionId(messages.flatMap((m) => [m.text, JSON.stringify(m.params ?? null)])),
  };
}

/** BBCode tags dropped; a tag's value stops at the next bracket, which keeps this linear in the text. */
export function stripBbCode(text: string): string {
  return text.replace(/\[br\]/gi, '\n').replace(/\[\/?[a-z]+(?:=[^\][]*)?\]/gi, '').trim();
}
