/**
 * Ports of the Open Lines bridge (issue #3): line bindings, chat/visitor mapping, message links
 * and the durable per-portal work queue. SQLite implementation: server/storage/bridge-repository.ts.
 */

export interface LineBinding {
  memberId: string;
  lineId: string;
  channelId: string;
  status: 'active' | 'off';
  /** The Chats CRM rules are off for this channel while the line drives it. */
  chatsRulesOff: boolean;
  lastError: string | null;
  updatedAt: string;
}

export interface BridgeChat {
  memberId: string;
  uisChatId: string;
  channelId: string;
  visitorId: string | null;
  initiator: string | null;
  operatorId: string | null;
  lineId: string | null;
  b24ChatId: string | null;
  b24SessionId: string | null;
  /** The open-line dialog was finished in Bitrix24 (the UIS chat stays open: seed rule). */
  b24SessionClosed?: boolean;
  status: 'open' | 'closed';
  /** Connector chat id in Bitrix24: `uis_c<uisChatId>`, or the first chat's when this one continues it. */
  extChatId: string;
  /** The chat the bridge started with the client after this one closed (its open-line chat goes on there). */
  successorUisChatId: string | null;
}

export interface BridgeVisitor {
  memberId: string;
  visitorId: string;
  phone: string | null;
  email: string | null;
  name: string | null;
  b24UserId: string | null;
}

/**
 * `verify`: after a first message was sent again unchecked, look for a second copy and remove it (resend-check.ts).
 * `rename`: the client's name came after the open-line chat was created under the phone (imconnector.chat.name.set).
 */
export type JobKind = 'in' | 'out' | 'delivery' | 'notice' | 'update' | 'verify' | 'rename';

export interface BridgeJob {
  id: number;
  memberId: string;
  kind: JobKind;
  chatKey: string;
  idemKey: string;
  payload: Record<string, unknown>;
  status: 'pending' | 'done' | 'failed';
  attempts: number;
  dueAt: number;
  enqueuedAt: number;
  lastError: string | null;
  /**
   * Inbound: the message was handed to imconnector.send.messages and the outcome is not known yet
   * (written before the call; a lost answer or a crash leaves it set). Such a job is checked
   * against what the open line holds before it is sent again. Outbound: a run is sending it, so a
   * late earlier message of the chat is not put ahead of it (enqueueAhead leaves it in place).
   */
  inflight: boolean;
}

export interface MessageLink {
  origin: 'uis' | 'b24';
  key: string;
  uisChatId: string | null;
  uisMessageId: string | null;
  b24ChatId: string | null;
  b24MessageId: string | null;
  /** Outbound: the Bitrix24 operator who wrote it. */
  b24UserId?: string | null;
  /** Inbound: the open-line session it went into (the send.messages answer); the loss audit reads it. */
  b24SessionId?: string | null;
  state: 'queued' | 'relayed' | 'delivered' | 'failed' | 'skipped';
  error: string | null;
}

/** The fields `updateLink` may patch. */
export type LinkPatch = Partial<Pick<MessageLink, 'uisMessageId' | 'b24ChatId' | 'b24MessageId' | 'b24SessionId' | 'state' | 'error'>>;

/** The writes of `BridgeRepository.settle`, all of one portal. */
export interface BridgeSettlement {
  chats?: Array<Partial<BridgeChat> & { uisChatId: string; channelId: string }>;
  visitors?: Array<Partial<BridgeVisitor> & { visitorId: string }>;
  links?: Array<{ origin: 'uis' | 'b24'; key: string; patch: LinkPatch }>;
  done?: number[];
  failed?: Array<{ id: number; error: string }>;
}

export interface BridgeRepository {
  // line bindings
  binding(memberId: string, lineId: string): LineBinding | null;
  bindingByChannel(memberId: string, channelId: string): LineBinding | null;
  bindings(memberId: string): LineBinding[];
  /** Bind (insert or replace); a previous binding of the channel to another line is removed first. */
  bind(memberId: string, lineId: string, channelId: string): { movedFrom: string | null };
  unbind(memberId: string, lineId: string): void;
  /** Portals with at least one line binding (offline catch-up polls these). */
  boundPortals(): string[];
  setBindingStatus(memberId: string, lineId: string, status: 'active' | 'off', lastError: string | null): void;
  setBindingError(memberId: string, lineId: string, lastError: string | null): void;
  defaultOperator(memberId: string): number | null;
  setDefaultOperator(memberId: string, operatorId: number | null): void;

  // chats and visitors
  chat(memberId: string, uisChatId: string): BridgeChat | null;
  chatByB24(memberId: string, b24ChatId: string): BridgeChat | null;
  /** The visitor's chats UIS has not closed (at most 50). */
  openChatsOfVisitor(memberId: string, visitorId: string): BridgeChat[];
  upsertChat(c: Partial<BridgeChat> & { memberId: string; uisChatId: string; channelId: string }): void;
  /**
   * The open-line dialog `sessionId` was finished: the chat's b24SessionClosed is set in one
   * conditional statement, only while its stored session is `sessionId` or not known yet (NULL) —
   * a new dialog's session written meanwhile stays open. False when nothing changed.
   */
  closeB24Session(memberId: string, uisChatId: string, sessionId: string | null): boolean;
  visitor(memberId: string, visitorId: string): BridgeVisitor | null;
  upsertVisitor(v: Partial<BridgeVisitor> & { memberId: string; visitorId: string }): void;
  /** The chats of these UIS chat ids that exist, in one read (a relay round's prefetch); in no particular order. */
  chatsOf(memberId: string, uisChatIds: string[]): BridgeChat[];
  /** The visitors of these ids that exist, in one read; in no particular order. */
  visitorsOf(memberId: string, visitorIds: string[]): BridgeVisitor[];

  // message links
  link(memberId: string, origin: 'uis' | 'b24', key: string): MessageLink | null;
  linkByUisMessage(memberId: string, uisMessageId: string): MessageLink | null;
  /** false when it exists already. */
  addLink(memberId: string, l: MessageLink): boolean;
  updateLink(memberId: string, origin: 'uis' | 'b24', key: string, patch: LinkPatch): void;
  countLinks(memberId: string): Record<string, number>;

  // echoes of what we wrote as an operator
  expectEcho(memberId: string, extChatId: string, textHash: string): void;
  /**
   * true (and consumed) when such an echo was expected. `b24MessageId`: the mark is taken for that
   * Bitrix24 message and kept — taking it again for the same message is true again (its online event
   * and offline twin handled at once by two instances both drop it; another message with the same
   * text does not get it). Without it, one mark waiting for its echo is dropped (no echo will come).
   */
  takeEcho(memberId: string, extChatId: string, textHash: string, b24MessageId?: string): boolean;

  // queue
  /** false when a job with that idempotency key exists (a repeat). */
  enqueue(j: { memberId: string; kind: JobKind; chatKey: string; idemKey: string; payload: Record<string, unknown>; dueAt: number }): boolean;
  /**
   * Enqueue `j` ahead of `overtake` — pending jobs of its chat that may still be reordered (not due,
   * never tried): they are moved behind it, in their order, in one transaction. False (nothing
   * moves) when a job with `j`'s idempotency key exists.
   */
  enqueueAhead(j: Parameters<BridgeRepository['enqueue']>[0], overtake: number[]): boolean;
  /** Pending jobs of one chat, oldest first. */
  pendingOfChat(memberId: string, chatKey: string): BridgeJob[];
  /** Pending jobs due now, oldest first. Pending jobs of chats with an older pending job are not due: order is kept per chat. */
  due(memberId: string, now: number, limit: number): BridgeJob[];
  /** Done (and no longer in flight). */
  complete(id: number): void;
  fail(id: number, error: string): void;
  retry(id: number, attempts: number, dueAt: number, error: string): void;
  /** Pending jobs of this chat that wait for a later time become due now (what they waited for arrived); returns how many. */
  dueNow(memberId: string, chatKey: string, now: number): number;
  /**
   * Every other pending job of the chat gets the due time of pending job `jobId`: a chat put off is
   * put off whole. `due` returns a chat's jobs up to its first one not due, in id order, and the
   * relay sorts them into UIS order — a job put off alone, with later messages of its chat that
   * came first (lower ids) left due, would let those go ahead of it. Returns how many moved.
   */
  holdChatWith(memberId: string, chatKey: string, jobId: number): number;
  /**
   * Give these pending jobs of the chat new places behind every other, in the order given. They must
   * be exactly the chat's pending jobs from the oldest of them on, none in flight; otherwise (one
   * queued, moved or started meanwhile) nothing moves and false is returned. A moved job gets a new
   * id: one read before the move is no longer pending under its old id.
   */
  resequence(memberId: string, chatKey: string, ids: number[]): boolean;
  /** Set or clear `inflight` of these jobs (one transaction; set before the REST call, durably). */
  setInflight(ids: number[], on: boolean): void;
  /**
   * What the answers of one relay call settle, written in one transaction — all or nothing, and on
   * PostgreSQL a few multi-row statements rather than a round trip per job: the same as
   * `upsertChat`, `upsertVisitor` and `updateLink` for each entry in its order, then `complete`
   * for `done` and `fail` for `failed` (a job in both ends failed).
   */
  settle(memberId: string, s: BridgeSettlement): void;
  portalsWithDueJobs(now: number): string[];
  nextDueAt(): number | null;
  /** Changes whenever a pending job of the portal is added, finished, failed or rescheduled (cheap: pending rows only). */
  pendingSignature(memberId: string): string;
  countJobs(memberId: string): Record<string, number>;
  /** Retention: done jobs enqueued before `beforeMs` and UIS inbox rows received before it are deleted. */
  prune(beforeMs: number): { jobs: number; inbox: number };
}

/** A bound channel as the reconcile sees it (issue #11): since when it is the line's, and how far it was compared. */
export interface RecoveryTarget {
  lineId: string;
  channelId: string;
  /** ms; messages before it are not the line's */
  boundAt: number;
  /** ms; null = never reconciled */
  reconciledTill: number | null;
}

export interface RecoveryCounters {
  /** UIS messages no callback brought, relayed from the Data API report */
  recovered: number;
  /** relayed messages the open line did not hold, sent again */
  repaired: number;
  lastReconcileAt: string | null;
  lastAuditAt: string | null;
  lastRepairAt: string | null;
  lastError: string | null;
}

/**
 * What the reconcile and the loss audit keep (issue #11 items 2–4; SQLite:
 * server/storage/bridge-recovery-repository.ts, migration 017).
 */
export interface BridgeRecoveryRepository {
  /** The portal's active line bindings with their reconcile cursor. */
  targets(memberId: string): RecoveryTarget[];
  setReconciledTill(memberId: string, lineId: string, channelId: string, till: number): void;
  /** Bridged chats (open-line chat known) changed since their last audit, least recently audited first. */
  chatsToAudit(memberId: string, limit: number): Array<{ uisChatId: string; channelId: string; lineId: string; b24ChatId: string }>;
  markAudited(memberId: string, uisChatIds: string[], at: string): void;
  /** Inbound message links of these chats. */
  linksOfChats(memberId: string, uisChatIds: string[]): Array<{ key: string; uisChatId: string; state: MessageLink['state']; b24ChatId: string | null; b24SessionId: string | null }>;
  /** The adapter connection's status as UIS last reported it (null: never reported). */
  connectionStatus(memberId: string, connectionId: string): string | null;
  setConnection(memberId: string, connectionId: string, c: { name?: string | null; status: string }): void;
  counters(memberId: string): RecoveryCounters;
  /** Adds to a counter (and notes when). */
  count(memberId: string, field: 'recovered' | 'repaired', n: number): void;
  noteRun(memberId: string, kind: 'reconcile' | 'audit', error: string | null): void;
}
