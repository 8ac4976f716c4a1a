import type { BitrixEvent } from '../../bitrix/event-schemas';
import type { CrmEntityType, Found } from '../../domain/crm-rules/types';

/** A CRM item as the personal-manager map keeps it: what decides a client's manager, as read from Bitrix24. */
export interface PmEntity {
  type: CrmEntityType;
  id: number;
  responsibleId: number | null;
  /** leads: converted/junk; deals: CLOSED=Y */
  closed: boolean;
  /** DATE_CREATE, ms */
  createdAt: number;
  contactId: number | null;
  companyId: number | null;
  leadId: number | null;
  /** E.164 digits */
  phones: string[];
}

export interface PmRef {
  type: CrmEntityType;
  id: number;
}

/**
 * Storage of the phone → responsible map (SQLite: server/storage/personal-manager-repository.ts,
 * migration 024). Asynchronous like every new port (a PostgreSQL store comes later).
 */
export interface PersonalManagerRepository {
  /**
   * The client of a phone as the map knows it: the items carrying the number, and the leads and
   * deals of those contacts, companies and leads (what `searchClients` would find). null = the map
   * has no item with this number.
   */
  clientOf(memberId: string, phone: string): Promise<Found | null>;
  /**
   * Stores what one read found: `entities` replace their rows (phones and links included), `gone`
   * become tombstones — each only where no newer read (`readAt`) is stored. The numbers of the
   * stored items stop being misses.
   */
  put(memberId: string, p: { entities: readonly PmEntity[]; gone: readonly PmRef[]; readAt: number }): Promise<void>;
  /** Which of these items the map holds (tombstones included). */
  known(memberId: string, refs: readonly PmRef[]): Promise<PmRef[]>;

  /** A phone a live lookup found in no item: trusted until `untilAt`. */
  saveMiss(memberId: string, phone: string, untilAt: number): Promise<void>;
  isMiss(memberId: string, phone: string, now: number): Promise<boolean>;

  /** Items to read again (events, our writes, stale rows); an item already waiting keeps the earlier time. */
  markDirty(memberId: string, refs: readonly PmRef[], dueAt: number): Promise<void>;
  dirty(memberId: string, now: number, limit: number): Promise<PmRef[]>;
  /** Done: the read stored them. */
  clearDirty(memberId: string, refs: readonly PmRef[]): Promise<void>;
  /** Failed read: tried again at `dueAt`; after `maxAttempts` the item is dropped from the queue. */
  retryDirty(memberId: string, refs: readonly PmRef[], dueAt: number, maxAttempts: number): Promise<void>;
  portalsWithDirty(now: number): Promise<string[]>;
  nextDirtyAt(): Promise<number | null>;
  /** Live items read before `before`, oldest first. */
  stale(memberId: string, before: number, limit: number): Promise<PmRef[]>;

  /** How far the first full read of each type has got (none = not started). */
  warmup(memberId: string): Promise<Partial<Record<CrmEntityType, { afterId: number; done: boolean }>>>;
  saveWarmup(memberId: string, type: CrmEntityType, p: { afterId: number; done: boolean; at: number }): Promise<void>;
  /** Forget the first full read (the forwarding switched off: events were not followed meanwhile). */
  resetWarmup(memberId: string): Promise<void>;

  /** Retention: misses that expired, and tombstones of items deleted before `tombstonesBefore` (no read that old arrives any more). */
  prune(memberId: string, now: number, tombstonesBefore: number): Promise<{ misses: number; tombstones: number }>;

  /** Counts an answer given to UIS (the tab's «UIS asks» check); `outcome`: 'manager' or why none. */
  noteAsk(memberId: string, p: { outcome: string; withManager: boolean; at: number }): Promise<void>;
  asks(memberId: string): Promise<{ asked: number; withManager: number; lastAt: number; lastOutcome: string } | null>;

  /** The numbers UIS rings for an employee, as last read; null = never read. */
  employeePhones(memberId: string, uisEmployeeId: number): Promise<string[] | null>;
  /** Replaces the portal's employee numbers with one `get.employees` read. */
  saveEmployeePhones(memberId: string, rows: ReadonlyArray<{ uisEmployeeId: number; phones: string[] }>, readAt: number): Promise<void>;
  employeePhonesReadAt(memberId: string): Promise<number | null>;
}

export type NoManager = 'off' | 'bad-number' | 'not-client' | 'no-responsible' | 'not-paired' | 'no-numbers' | 'timeout' | 'lookup-failed' | 'busy';

/** The personal manager of a caller, or why there is none (UIS then takes the operation's linked one). */
export type ManagerAnswer =
  | { kind: 'manager'; userId: number; uisEmployeeId: number; phones: string[]; from: 'map' | 'live' }
  | { kind: 'none'; reason: NoManager };

export interface PersonalManagerWorker {
  /** Items changed (a CRM event, our own write): read again soon — if the portal uses the forwarding. */
  touch(memberId: string, refs: readonly PmRef[]): Promise<void>;
  /** The periodic upkeep (stale rows, employee numbers) of the portals using the forwarding. */
  start(intervalMs: number): void;
  /** One upkeep pass of a portal now (tests, the tab saved). */
  upkeep(memberId: string): Promise<void>;
  wake(delayMs?: number): void;
  drain(): Promise<void>;
  idle(): Promise<void>;
  stop(): void;
}

/** «Переадресация на персонального менеджера из CRM» as the transports and the composition see it. */
export interface PersonalManager {
  map: PersonalManagerRepository;
  worker: PersonalManagerWorker;
  /** The manager of a caller, answered within the budget counted from `startedAt` (real ms). */
  find(memberId: string, phone: string, startedAt?: number): Promise<ManagerAnswer>;
  /** Counts an answer already sent (never on the answer's path); answers while switched off are not counted. */
  noteAsk(memberId: string, answer: ManagerAnswer): Promise<void>;
  /** A verified Bitrix24 event (ONCRM{CONTACT,COMPANY,LEAD,DEAL}{ADD,UPDATE,DELETE}). */
  onEvent(memberId: string, ev: Pick<BitrixEvent, 'event' | 'data'>): Promise<void>;
}
