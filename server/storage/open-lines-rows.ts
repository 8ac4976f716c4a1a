import { openLinesSettingsSchema, type OpenLinesSettings } from '../contracts/open-lines';
import type { OpenLineJob } from '../services/open-lines/ports';

/**
 * Rows of «Открытые линии» (migration 021) as both stores read them (SQLite:
 * open-lines-repository.ts, PostgreSQL: pg/open-lines-store.ts): pure mapping, no SQL.
 */
export interface OpenLineJobRow {
  member_id: string;
  entity_type: 'lead' | 'deal';
  entity_id: number;
  status: OpenLineJob['status'];
  attempts: number;
  due_at: number;
  created_at: number;
  uis_chat_id: string | null;
  written: string | null;
  reason: string | null;
  updated_at: number;
}

export const toOpenLineJob = (r: OpenLineJobRow): OpenLineJob => ({
  memberId: r.member_id,
  entityType: r.entity_type,
  entityId: Number(r.entity_id),
  status: r.status,
  attempts: r.attempts,
  dueAt: Number(r.due_at),
  createdAt: Number(r.created_at),
  uisChatId: r.uis_chat_id,
  written: r.written ? (JSON.parse(r.written) as string[]) : [],
  reason: r.reason,
  updatedAt: Number(r.updated_at),
});

/** The job fields `update` may patch, by column. */
export const OPEN_LINE_JOB_COLUMNS = { status: 'status', attempts: 'attempts', dueAt: 'due_at', uisChatId: 'uis_chat_id', written: 'written', reason: 'reason' } as const;

/** The stored settings JSON: null when it no longer parses as settings. */
export function parseOpenLinesSettings(settings: string, updatedAt: string): { settings: OpenLinesSettings; updatedAt: string } | null {
  const parsed = openLinesSettingsSchema.safeParse(JSON.parse(settings));
  return parsed.success ? { settings: parsed.data, updatedAt } : null;
}
