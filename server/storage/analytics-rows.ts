import { analyticsSettingsSchema, type AnalyticsSettings } from '../contracts/analytics';
import type { AnalyticsJob, AnalyticsRepository } from '../services/ports';

/**
 * Rows of «Аналитика» (migration 005) as both stores read them (SQLite: analytics-repository.ts,
 * PostgreSQL: pg/analytics-store.ts): pure mapping, no SQL.
 */
export interface AnalyticsJobRow {
  id: number;
  member_id: string;
  entity_type: 'lead' | 'deal';
  entity_id: number;
  status: AnalyticsJob['status'];
  attempts: number;
  due_at: number;
  created_at: number;
  chat_id: number | null;
  attribution: string | null;
  reason: string | null;
  recheck_at: number | null;
  updated_at: string;
}

export const toAnalyticsJob = (r: AnalyticsJobRow): AnalyticsJob => ({
  id: r.id,
  memberId: r.member_id,
  entityType: r.entity_type,
  entityId: r.entity_id,
  status: r.status,
  attempts: r.attempts,
  dueAt: r.due_at,
  createdAt: r.created_at,
  chatId: r.chat_id,
  attribution: r.attribution,
  reason: r.reason,
  recheckAt: r.recheck_at,
  updatedAt: r.updated_at,
});

export type AnalyticsJobPatch = Parameters<AnalyticsRepository['update']>[1];

/** The job fields `update` may patch, by column. */
export const ANALYTICS_JOB_COLUMNS: Record<keyof AnalyticsJobPatch, string> = {
  status: 'status',
  attempts: 'attempts',
  dueAt: 'due_at',
  chatId: 'chat_id',
  attribution: 'attribution',
  reason: 'reason',
  recheckAt: 'recheck_at',
};

/** The stored settings JSON (throws when it no longer parses as settings, as the SQLite repository always did). */
export const parseAnalyticsSettings = (json: string): AnalyticsSettings => analyticsSettingsSchema.parse(JSON.parse(json));

/** Whether stored settings have analytics switched on. */
export const analyticsEnabled = (json: string): boolean => (JSON.parse(json) as { enabled?: boolean }).enabled === true;
