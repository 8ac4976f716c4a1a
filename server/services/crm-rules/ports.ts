import type { CrmRulesSettings } from '../../contracts/crm-rules';
import type { CrmDirectory, CrmRulesKind } from '../../contracts/crm-settings';

/** Storage of the «Чаты» / «Оффлайн заявки» rules and the cached CRM directory (SQLite: server/storage/crm-rules-repository.ts). */
export interface CrmRulesRepository {
  get(memberId: string, kind: CrmRulesKind): { settings: CrmRulesSettings; updatedAt: string } | null;
  save(memberId: string, kind: CrmRulesKind, settings: CrmRulesSettings): void;
  /**
   * Untick one channel in the saved settings, atomically (SQLite: one synchronous read-and-write;
   * PostgreSQL: the row locked for the read-and-write): an admin's save landing at the same moment
   * is either wholly before (its settings lose the channel) or after (it stands). False when no
   * settings are saved or they do not have the channel.
   */
  removeChannel(memberId: string, kind: CrmRulesKind, channel: string): boolean;
  /** Whether the tab is on, without reading the whole settings (asked on every UIS callback). */
  isEnabled(memberId: string, kind: CrmRulesKind): boolean;
  /** Portals with this tab switched on. */
  enabledPortals(kind: CrmRulesKind): string[];
  getDirectory(memberId: string): CrmDirectory | null;
  saveDirectory(memberId: string, directory: CrmDirectory): void;
}

export type CrmRequestKind = 'chat' | 'offline';
export type CrmRequestStatus = 'pending' | 'waiting' | 'done' | 'failed';

/** One UIS chat or offline request the rules follow (SQLite: server/storage/crm-requests-repository.ts). */
export interface CrmRequest {
  memberId: string;
  kind: CrmRequestKind;
  requestId: string;
  /** the latest lifecycle point seen: started < message < finished; offline requests are `received` */
  event: 'started' | 'message' | 'finished' | 'received';
  channelId: string | null;
  visitorId: string | null;
  startedAt: number | null;
  /** offline requests: the report row as UIS gave it */
  facts: Record<string, unknown> | null;
  status: CrmRequestStatus;
  dueAt: number;
  version: number;
  attempts: number;
  /** a decision being applied: kept until all of its operations are done */
  plan: unknown;
  /** what the last decision was: `primary`, `repeat`, `continuation` or `skip:<reason>` (a later pass with nothing new keeps what was done) */
  outcome: string | null;
  reason: string | null;
  /** what the app did for this request (domain ChatLink) */
  link: { targets: unknown[]; cursor: string | null } | null;
}

export interface CrmRequestMessage {
  id: string;
  at: number;
  source: 'visitor' | 'operator' | 'system';
  text: string;
  author: string | null;
}

export interface CrmRequestRepository {
  /** Record an event of a request: creates the row or re-opens it (pending, version + 1), due after `gatherMs`. */
  touch(r: { memberId: string; kind: CrmRequestKind; requestId: string; event: CrmRequest['event']; channelId?: string | null; visitorId?: string | null; startedAt?: number | null; facts?: Record<string, unknown> | null; dueAt: number }): void;
  /** Re-open the waiting requests of a visitor (new contact data arrived). */
  touchVisitor(memberId: string, visitorId: string, dueAt: number): number;
  get(memberId: string, kind: CrmRequestKind, requestId: string): CrmRequest | null;
  /** The lifecycle point of each of these requests the app knows (one read for a whole report page). */
  events(memberId: string, kind: CrmRequestKind, requestIds: string[]): Map<string, CrmRequest['event']>;
  addMessage(memberId: string, requestId: string, m: CrmRequestMessage): boolean;
  /** A message edited in UIS: its stored text is replaced (true when it was stored and changed). */
  editMessage(memberId: string, requestId: string, messageId: string, text: string): boolean;
  messages(memberId: string, requestId: string): CrmRequestMessage[];
  due(memberId: string, now: number, limit: number): CrmRequest[];
  portalsWithDue(now: number): string[];
  nextDueAt(): number | null;
  setPlan(r: CrmRequest, plan: unknown): void;
  /** Finish a run: unless a newer event arrived meanwhile, the row takes `status`. */
  finish(r: CrmRequest, p: { status: Exclude<CrmRequestStatus, 'pending'>; outcome: string; reason: string | null; link?: CrmRequest['link'] }): void;
  retry(r: CrmRequest, dueAt: number, reason: string): void;
  op(memberId: string, key: string): { state: 'sent' | 'done'; resultId: number | null } | null;
  markSent(memberId: string, keys: string[]): void;
  markDone(memberId: string, key: string, resultId: number | null): void;
  /** Operations known not to have happened (refused, or skipped by `halt`). */
  clearOps(memberId: string, keys: string[]): void;
  /**
   * How far a Data API report has been read for the portal (ms); null before the first poll. Only
   * the offline requests keep one: the chats reconcile always rereads its last day.
   */
  pollCursor(memberId: string, report: 'offline'): number | null;
  setPollCursor(memberId: string, report: 'offline', seenTill: number): void;
  count(memberId: string): Record<string, number>;
  /**
   * Retention: the stored messages of chats that are done or failed and were last touched before
   * `beforeMs` are deleted (a continuation needs only the link's cursor); how many.
   */
  pruneMessages(beforeMs: number): number;
}
