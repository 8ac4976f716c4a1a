import type { TelephonySettings } from '../../contracts/telephony-settings';
import type { CallEventType, CallNotification, CallReport } from '../../domain/telephony/events';
import type { CallProgress } from './progress';

/** One UIS call session the service follows (storage: server/storage/telephony-repository.ts). */
export interface TelephonyCall {
  memberId: string;
  sessionId: number;
  status: 'pending' | 'waiting' | 'done' | 'failed';
  dueAt: number;
  /** grows with every notification or report: a run finishing an older version leaves the row pending */
  version: number;
  attempts: number;
  startedAt: number | null;
  /** the client's number, digits (single-flight per client; «Обработано» lookups) */
  phone: string | null;
  report: CallReport | null;
  /** what was done so far; null before the first run */
  state: CallProgress | null;
  outcome: string | null;
  reason: string | null;
}

export interface RecordNotification {
  memberId: string;
  notification: CallNotification;
  /** same key = the same notification delivered twice */
  dedupeKey: string;
}

/**
 * Storage of «Телефония». Every method is asynchronous (the storage moves to Kysely over SQLite and
 * PostgreSQL); writes that must happen together happen in one method.
 */
export interface TelephonyRepository {
  getSettings(memberId: string): Promise<{ settings: TelephonySettings; updatedAt: string } | null>;
  saveSettings(memberId: string, settings: TelephonySettings): Promise<void>;
  /** Portals with the tab switched on. */
  enabledPortals(): Promise<string[]>;

  /** The notification URL's secret of a portal, or null before one was made. */
  hookToken(memberId: string): Promise<string | null>;
  /** Make (or replace) the portal's secret. */
  saveHookToken(memberId: string, token: string): Promise<void>;
  /** The portal a secret belongs to. */
  memberByHookToken(token: string): Promise<string | null>;

  /**
   * Records a notification and makes its call due (one transaction): false when the same
   * notification was recorded before (a repeat). A notification without a session id is only
   * counted as arrived.
   */
  record(n: RecordNotification, dueAt: number): Promise<boolean>;
  /** Which event types arrived, how often, when last. */
  arrivals(memberId: string): Promise<Array<{ eventType: CallEventType; received: number; lastAt: number }>>;
  notifications(memberId: string, sessionIds: readonly number[]): Promise<Map<number, CallNotification[]>>;

  /** The report's row of a call: stored, and the call made due unless it is done with a report already. */
  saveReport(memberId: string, report: CallReport, dueAt: number): Promise<'new' | 'updated' | 'unchanged'>;
  get(memberId: string, sessionId: number): Promise<TelephonyCall | null>;
  /** Calls of a portal the reconciliation already knows ended and were handled (no need to read them again). */
  settled(memberId: string, sessionIds: readonly number[]): Promise<Set<number>>;
  due(memberId: string, now: number, limit: number): Promise<TelephonyCall[]>;
  portalsWithDue(now: number): Promise<string[]>;
  nextDueAt(): Promise<number | null>;
  /** Saves what was done (progress) without ending the run. */
  saveState(c: TelephonyCall): Promise<void>;
  /** Ends a run: unless a newer version arrived meanwhile, the row takes `status` (and is due at `dueAt` when waiting/pending). */
  finish(c: TelephonyCall, p: { status: TelephonyCall['status']; outcome: string | null; reason: string | null; dueAt?: number; attempts?: number }): Promise<void>;

  /** Open missed-call activities left by earlier calls of this client number. */
  openMissed(memberId: string, phone: string, exceptSession: number): Promise<Array<{ sessionId: number; activityId: number }>>;
  setMissed(memberId: string, sessionId: number, activityId: number | null, open: boolean): Promise<void>;
  closeMissed(memberId: string, activityIds: readonly number[]): Promise<void>;

  reconcileCursor(memberId: string): Promise<{ seenTill: number; lastRunAt: number | null; recovered: number; lastError: string | null } | null>;
  saveReconcile(memberId: string, p: { seenTill: number; lastRunAt: number; recoveredAdd: number; lastError: string | null }): Promise<void>;

  lines(memberId: string): Promise<{ numbers: Array<{ number: string; name: string }>; syncedAt: number; lastError: string | null } | null>;
  saveLines(memberId: string, p: { numbers: Array<{ number: string; name: string }>; syncedAt: number; lastError: string | null }): Promise<void>;

  /**
   * Retention: notifications received before `eventsBefore` (their calls are long decided; what was
   * done is in the call's state), and calls done or failed before `callsBefore` — except those
   * whose missed-call activity is still open («Обработано» needs them).
   */
  prune(eventsBefore: number, callsBefore: number): Promise<{ events: number; calls: number }>;

  /** Counts by status, for the tab. */
  counts(memberId: string): Promise<Record<string, number>>;
}
