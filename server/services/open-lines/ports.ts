import type { OpenLinesSettings } from '../../contracts/open-lines';

/**
 * Ports of the «Открытые линии» tab (issue #16): its settings and one durable job per lead or
 * deal Open Lines created while the tab was on. Async (the storage is moving to Kysely); SQLite
 * implementation: server/storage/open-lines-repository.ts (migration 021).
 */
export type OpenLineJobStatus = 'pending' | 'done' | 'skipped' | 'failed';

export interface OpenLineJob {
  memberId: string;
  entityType: 'lead' | 'deal';
  entityId: number;
  status: OpenLineJobStatus;
  attempts: number;
  dueAt: number;
  createdAt: number;
  uisChatId: string | null;
  /** Bitrix24 field codes written. */
  written: string[];
  reason: string | null;
  updatedAt: number;
}

export interface OpenLinesRepository {
  getSettings(memberId: string): Promise<{ settings: OpenLinesSettings; updatedAt: string } | null>;
  saveSettings(memberId: string, settings: OpenLinesSettings): Promise<void>;
  isEnabled(memberId: string): Promise<boolean>;
  enabledPortals(): Promise<string[]>;
  /** A job for this lead/deal; false when one exists (a repeat of the event). */
  enqueue(memberId: string, entityType: 'lead' | 'deal', entityId: number, now: number): Promise<boolean>;
  /** Pending jobs due now, oldest first. */
  due(memberId: string, now: number, limit: number): Promise<OpenLineJob[]>;
  portalsWithDueJobs(now: number): Promise<string[]>;
  nextDueAt(): Promise<number | null>;
  update(
    key: Pick<OpenLineJob, 'memberId' | 'entityType' | 'entityId'>,
    patch: Partial<Pick<OpenLineJob, 'status' | 'attempts' | 'dueAt' | 'uisChatId' | 'written' | 'reason'>>,
  ): Promise<void>;
  /** The latest jobs of a portal, newest first. */
  recent(memberId: string, limit: number): Promise<OpenLineJob[]>;
}
