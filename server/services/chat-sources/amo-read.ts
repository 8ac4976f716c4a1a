import type { AmoClient } from '../../amocrm/client';
import { AmoApiError } from '../../amocrm/errors';
import { leadIdOf, type AmoEntity, type AmoTalk } from '../../domain/chat-sources/amocrm';

/**
 * Reads what closed talks need, in as few amoCRM calls as its API allows: each talk by id
 * (`GET /api/v4/talks/{id}`, the only talk read there is: the source of truth — the webhook is an
 * unsigned hint), then their leads and contacts in lists of up to 250 ids
 * (`?filter[id][]=…`), so a burst of closed talks costs little more than one call per talk.
 */
export type TalkRead =
  | { talk: AmoTalk; lead: AmoEntity | null; contact: AmoEntity | null }
  | { gone: string }
  | { forbidden: string };

const LIST_LIMIT = 250;

function toTalk(j: Record<string, unknown>): AmoTalk {
  const num = (v: unknown) => (typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : null);
  return {
    talkId: num(j.talk_id) ?? 0,
    createdAt: num(j.created_at) ?? 0,
    updatedAt: num(j.updated_at) ?? 0,
    contactId: num(j.contact_id),
    entityId: num(j.entity_id),
    entityType: typeof j.entity_type === 'string' ? j.entity_type : null,
    isInWork: j.is_in_work === true || j.is_in_work === 1 || j.is_in_work === '1',
    origin: typeof j.origin === 'string' ? j.origin : '',
  };
}

async function byIds(client: AmoClient, entity: 'leads' | 'contacts', ids: number[]): Promise<Map<number, AmoEntity>> {
  const out = new Map<number, AmoEntity>();
  const unique = [...new Set(ids)];
  for (let i = 0; i < unique.length; i += LIST_LIMIT) {
    const chunk = unique.slice(i, i + LIST_LIMIT);
    const r = await client.get<{ _embedded?: Record<string, AmoEntity[]> }>(`/api/v4/${entity}`, { 'filter[id][]': chunk, limit: LIST_LIMIT });
    for (const e of r?._embedded?.[entity] ?? []) if (typeof e.id === 'number') out.set(e.id, e);
  }
  return out;
}

/** Talk id → what was read. Transient errors (429 past the retries, unreachable) propagate: the whole batch waits. */
export async function readTalks(client: AmoClient, talkIds: number[]): Promise<Map<number, TalkRead>> {
  const talks = new Map<number, AmoTalk | { gone: string } | { forbidden: string }>();
  await Promise.all(
    talkIds.map(async (id) => {
      try {
        const j = await client.get(`/api/v4/talks/${id}`);
        talks.set(id, j ? toTalk(j) : { gone: 'TALK_NOT_FOUND: amoCRM answered without the talk' });
      } catch (e) {
        if (e instanceof AmoApiError && e.status === 404) talks.set(id, { gone: 'TALK_NOT_FOUND: the talk no longer exists in amoCRM' });
        else if (e instanceof AmoApiError && e.status === 403) talks.set(id, { forbidden: `AMO_FORBIDDEN: ${e.message}` });
        else throw e;
      }
    }),
  );
  const closed = [...talks.values()].filter((t): t is AmoTalk => 'talkId' in t && !t.isInWork);
  const leads = await byIds(client, 'leads', closed.map(leadIdOf).filter((x): x is number => x !== null));
  const contacts = await byIds(client, 'contacts', closed.map((t) => t.contactId).filter((x): x is number => x !== null));
  const out = new Map<number, TalkRead>();
  for (const [id, t] of talks) {
    if (!('talkId' in t)) out.set(id, t);
    else out.set(id, { talk: t, lead: leadIdOf(t) ? (leads.get(leadIdOf(t)!) ?? null) : null, contact: t.contactId ? (contacts.get(t.contactId) ?? null) : null });
  }
  return out;
}
