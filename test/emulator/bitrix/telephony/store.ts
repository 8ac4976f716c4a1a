/**
 * What the emulated portal's telephony keeps for REST apps (voximplant module, b_voximplant_*):
 * external lines per app, the live calls (`Call` rows, deleted by finish), the statistics rows
 * finish writes, missed-call rows, the recording files, the per-user call-card state the pull
 * events `showExternalCall` / `hideExternalCall` drive, the messages ADD_TO_CHAT posts, and the
 * portal settings that decide where click-to-call and the callback form go
 * («Номер для исходящего звонка по умолчанию», «Контакт-центр → Обратная форма»).
 */
import type { Params } from '../php';
import type { PortalCore } from '../types';

export interface ExternalLine {
  id: number;
  appId: number;
  number: string;
  /** null for a line `register` created on the fly */
  name: string | null;
  crmAutoCreate: 'Y' | 'N';
}

export interface CrmEntityRef {
  type: string;
  id: number;
  primary: boolean;
  created: boolean;
}

export interface Binding {
  OWNER_TYPE_ID: number;
  OWNER_ID: number;
}

/** A registered, not yet finished call (b_voximplant_call). */
export interface LiveCall {
  callId: string;
  externalCallId: string | null;
  appId: number;
  userId: number;
  /** CALLER_ID: PHONE_NUMBER with letters stripped */
  phone: string;
  /** INCOMING: the TYPE 1..5 */
  type: number;
  /** DATE_CREATE = CALL_START_DATE or the registration time (ms) — the 30-minute window is measured against it */
  dateCreate: number;
  lineId: number | null;
  portalNumber: string;
  portalCall: boolean;
  portalUserId: number | null;
  crmEnabled: boolean;
  callListId: number;
  crmEntities: CrmEntityRef[];
  bindings: Binding[];
  createdLeadId: number | null;
}

/** A b_voximplant_statistic row, as finish answers it. */
export interface StatisticRow {
  record: Params;
  id: number;
  callId: string;
  userId: number;
  type: number;
  phone: string;
  startedAt: number;
  duration: number;
  statusCode: string;
  activityId: number | null;
  fileId: number | null;
  transcriptId: number | null;
}

export interface StoredFile {
  id: number;
  name: string;
  size: number;
  mime: string;
  bytes: Buffer;
  callId: string;
  /** how it came: base64 FILE_CONTENT, RECORD_URL fetched by the portal, or the uploadUrl */
  via: 'content' | 'url' | 'upload';
  url: string | null;
}

export interface CardState {
  callId: string;
  phone: string;
  lineNumber: string | null;
  lineName: string | null;
  incoming: number;
  crmEntityType: string;
  crmEntityId: number | null;
  shownAt: number;
}

export interface CardEvent {
  at: number;
  userId: number;
  callId: string;
  action: 'show' | 'hide';
}

export interface ChatRecord {
  at: number;
  userId: number;
  phone: string;
  incoming: number;
  text: string;
}

/** Where a click on a phone number goes: Bitrix24's own telephony, the app's generic line, or one of its external lines. */
export type OutgoingLine = null | { kind: 'app' } | { kind: 'line'; number: string };

export interface TelephonySettings {
  /** portal default «Номер для исходящего звонка по умолчанию» (null = Bitrix24 telephony: no event) */
  defaultOutgoingLine: OutgoingLine;
  /** a user's own choice overrides the portal default */
  userOutgoingLines: Map<number, OutgoingLine>;
  /** «Контакт-центр → Обратная форма»: the line the callback form calls through, the text spoken to the employee */
  callbackForm: { line: OutgoingLine; text: string; voice: string; responsibleId: number };
  /** CRM mode for CRM_CREATE=1: classic → a lead; simple → contact + deal */
  crmMode: 'classic' | 'simple';
  /** when set, automatic lead creation fails with this LEAD_CREATION_ERROR */
  leadCreationError: string | null;
  /**
   * ONEXTERNALCALLSTART without a CRM entity: the 26.x source leaves CRM_ENTITY_ID out (null is not
   * form-encoded); older portals sent 0 (ViStepRU/callme#1).
   */
  clickEntityIdWhenNone: 'omit' | 'zero';
}

export class TelephonyStore {
  readonly lines: ExternalLine[] = [];
  readonly calls = new Map<string, LiveCall>();
  readonly statistics: StatisticRow[] = [];
  readonly missed: Array<{ id: number; phone: string; userId: number; callbackId: number | null }> = [];
  readonly files: StoredFile[] = [];
  readonly cards = new Map<number, Map<string, CardState>>();
  readonly cardLog: CardEvent[] = [];
  readonly chat: ChatRecord[] = [];
  readonly transcripts: Array<{ id: number; callId: string; messages: Params[] }> = [];
  /** click-to-call and callback-form starts, for assertions */
  readonly starts: Array<{ at: number; event: 'ONEXTERNALCALLSTART' | 'ONEXTERNALCALLBACKSTART'; data: Params; delivered: boolean; reason?: string }> = [];
  readonly settings: TelephonySettings = {
    defaultOutgoingLine: null,
    userOutgoingLines: new Map(),
    callbackForm: { line: null, text: 'Заказан обратный звонок с сайта, соединяю вас с клиентом', voice: 'ruinternalfemale', responsibleId: 1 },
    crmMode: 'classic',
    leadCreationError: null,
    clickEntityIdWhenNone: 'omit',
  };
  private seq = { line: 6, stat: 6, file: 9078, missed: 0, transcript: 0 };

  constructor(readonly portal: PortalCore) {}

  nextLineId(): number {
    return ++this.seq.line;
  }

  nextStatId(): number {
    return ++this.seq.stat;
  }

  nextFileId(): number {
    return ++this.seq.file;
  }

  nextMissedId(): number {
    return ++this.seq.missed;
  }

  nextTranscriptId(): number {
    return ++this.seq.transcript;
  }

  appId(): number {
    return Number(this.portal.appInfo().ID);
  }

  line(appId: number, number: string): ExternalLine | undefined {
    return this.lines.find((l) => l.appId === appId && l.number === number);
  }

  /** Cards visible to a user now (newest first). */
  visibleCards(userId: number): CardState[] {
    return [...(this.cards.get(userId)?.values() ?? [])].sort((a, b) => b.shownAt - a.shownAt);
  }

  show(userIds: number[], c: Omit<CardState, 'shownAt'>, at: number): void {
    for (const u of userIds) {
      let m = this.cards.get(u);
      if (!m) this.cards.set(u, (m = new Map()));
      m.set(c.callId, { ...c, shownAt: at });
      this.cardLog.push({ at, userId: u, callId: c.callId, action: 'show' });
    }
  }

  hide(userIds: number[], callId: string, at: number): void {
    for (const u of userIds) {
      this.cards.get(u)?.delete(callId);
      this.cardLog.push({ at, userId: u, callId, action: 'hide' });
    }
  }

  /** The line a click on a phone number of `userId` goes to. */
  outgoingLineOf(userId: number): OutgoingLine {
    return this.settings.userOutgoingLines.has(userId) ? (this.settings.userOutgoingLines.get(userId) ?? null) : this.settings.defaultOutgoingLine;
  }

  /** Uninstalling the app removes its lines (Helper::onRestAppDelete). */
  forgetApp(appId: number): void {
    for (let i = this.lines.length - 1; i >= 0; i--) if (this.lines[i]!.appId === appId) this.lines.splice(i, 1);
  }
}

const stores = new WeakMap<PortalCore, TelephonyStore>();

export function telephonyOf(portal: PortalCore): TelephonyStore {
  let s = stores.get(portal);
  if (!s) {
    s = new TelephonyStore(portal);
    stores.set(portal, s);
  }
  return s;
}
