import type { CrmRequest, CrmRequestMessage } from '../services/crm-rules/ports';

/**
 * Rows of the CRM rules' request queue (migrations 009 and 013) as both stores read them (SQLite:
 * crm-requests-repository.ts, PostgreSQL: pg/crm-requests-store.ts): pure mapping, no SQL.
 */
export interface CrmRequestRow {
  member_id: string;
  kind: CrmRequest['kind'];
  request_id: string;
  event: CrmRequest['event'];
  channel_id: string | null;
  visitor_id: string | null;
  started_at: number | null;
  facts: string | null;
  status: CrmRequest['status'];
  due_at: number;
  version: number;
  attempts: number;
  plan: string | null;
  outcome: string | null;
  reason: string | null;
  link: string | null;
}

export interface CrmRequestMessageRow {
  message_id: string;
  at: number;
  source: CrmRequestMessage['source'];
  text: string;
  author: string | null;
}

const EVENT_RANK: Record<CrmRequest['event'], number> = { started: 0, message: 1, received: 1, finished: 2 };

/**
 * Events may arrive out of order: the row keeps the furthest lifecycle point (the arriving one on a
 * tie). The rank of an event column in SQL (both dialects), for the touch's upsert.
 */
export const eventRankSql = (column: 'excluded.event' | 'crm_requests.event'): string =>
  `CASE ${column} ${Object.entries(EVENT_RANK).map(([e, r]) => `WHEN '${e}' THEN ${r}`).join(' ')} END`;

const parse = (s: string | null): unknown => (s === null ? null : JSON.parse(s));

export function toCrmRequest(r: CrmRequestRow): CrmRequest {
  return {
    memberId: r.member_id,
    kind: r.kind,
    requestId: r.request_id,
    event: r.event,
    channelId: r.channel_id,
    visitorId: r.visitor_id,
    startedAt: r.started_at,
    facts: parse(r.facts) as CrmRequest['facts'],
    status: r.status,
    dueAt: r.due_at,
    version: r.version,
    attempts: r.attempts,
    plan: parse(r.plan),
    outcome: r.outcome,
    reason: r.reason,
    link: parse(r.link) as CrmRequest['link'],
  };
}

export const toCrmRequestMessage = (m: CrmRequestMessageRow): CrmRequestMessage => ({ id: m.message_id, at: m.at, source: m.source, text: m.text, author: m.author });
