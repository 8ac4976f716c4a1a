
/**
 * Inputs and the decision of the CRM rules engine (issues #6, #13): one engine for every
 * communication — a chat, an offline request or a call. The service gathers the facts (UIS
 * callback + Data API, Bitrix24 duplicate search) and applies the decision; nothing here does I/O.
 * Chats and offline requests decide with `decide` (this file's `Decision`), calls with `decideCall`
 * (call-types.ts); both share the filters, responsibles, funnels, templates and field mapping.
 */

export type RequestKind = 'chat' | 'offline';
/** Chat lifecycle point that triggered the decision; an offline request arrives whole (`received`). */
export type RequestEvent = 'started' | 'message' | 'finished' | 'received';

export interface RequestMessage {
  id: string;
  /** ms since epoch */
  at: number;
  source: 'visitor' | 'operator' | 'system';
  text: string;
  /** operator's name as UIS reports it, when known */
  author?: string | null;
}

/** The facts of one UIS chat or offline request, normalised by the service. */
export interface RequestFacts {
  kind: RequestKind;
  /** UIS chat id or offline request id */
  id: number;
  event: RequestEvent;
  /** Data API `chat_channel_type` (`offline_message` for requests) */
  channelType: string;
  channelId: string | null;
  channelName: string | null;
  /** the channel is bound to an open line that creates CRM entities itself */
  openLineDriven: boolean;
  visitor: { name: string | null; phones: string[]; emails: string[] };
  siteId: number | null;
  siteName: string | null;
  campaignId: number | null;
  campaignName: string | null;
  firstCampaignId: number | null;
  sourceId: number | null;
  sourceName: string | null;
  utm: Partial<Record<'source' | 'medium' | 'campaign' | 'term' | 'content', string | null>>;
  /** UIS employee handling the chat */
  employeeId: number | null;
  employeeName: string | null;
  /** the Bitrix24 user of that employee (employee sync on «Главная»); null/absent when not synced */
  employeeUserId?: number | null;
  /** offline request form */
  formName: string | null;
  startedAt: number;
  messages: RequestMessage[];
}


export type CrmEntityType = 'lead' | 'deal' | 'contact' | 'company';

/** An entity the Bitrix24 search found for the client. `closed` is meaningful for leads/deals only. */
export interface FoundEntity {
  id: number;
  closed: boolean;
  /** DATE_CREATE, ms since epoch: "most recent" is the newest created */
  createdAt: number;
  responsibleId: number | null;
  /** DATE_MODIFY, ms since epoch, when the service read it (calls: «Использовать другую телефонию») */
  modifiedAt?: number;
  /** values of the mapped Bitrix24 fields, when the service read them (calls: «ID первой коммуникации» when empty) */
  fields?: Record<string, string | null>;
}
export interface Found {
  leads: FoundEntity[];
  deals: FoundEntity[];
  contacts: FoundEntity[];
  companies: FoundEntity[];
}

/** What the app already did for this chat (stored by the service after applying a decision). */
export interface ChatLink {
  targets: EntityRef[];
  /** id of the last message already written to the timeline */
  cursor: string | null;
}

/** An existing entity, or one created earlier in the same decision (`ref`). */
export type EntityRef = { type: CrmEntityType; id: number } | { ref: 'contact' | 'lead' | 'deal' };

export type SkipReason =
  | 'tab-off'
  | 'workspace-only'
  | 'open-lines'
  | 'channel-off'
  | 'filtered-out'
  | 'no-contact'
  | 'waits-for-end'
  | 'nothing-new'
  | 'nothing-to-create';

export interface CreateOp {
  op: 'create';
  key: string;
  ref: 'contact' | 'lead' | 'deal';
  title: string | null;
  responsibleId: number | null;
  /** lead: status; deal: funnel + stage; contact: none */
  stage: { leadStatusId: string | null } | { dealCategoryId: number | null; dealStageId: string | null } | null;
  /**
   * The person: a contact's NAME/PHONE/EMAIL; calls also give it to a lead they create (its PHONE,
   * so Bitrix24 finds the lead by the number). Chats give it to contacts only.
   */
  contact: { name: string | null; phones: string[]; emails: string[] } | null;
  /** Bitrix24 field code → value (field mapping) */
  fields: Record<string, string>;
  links: Partial<Record<'contact' | 'company' | 'lead', EntityRef>>;
}
export interface UpdateOp {
  op: 'update';
  key: string;
  target: EntityRef;
  fields: Record<string, string>;
}
export interface CommentOp {
  op: 'comment';
  key: string;
  target: EntityRef;
  text: string;
}
export interface ActivityOp {
  op: 'activity';
  key: string;
  target: EntityRef;
  responsibleId: number | null;
  title: string;
  description: string;
}
export interface NotifyOp {
  op: 'notify';
  key: string;
  userId: number;
  entities: EntityRef[];
}
export type Operation = CreateOp | UpdateOp | CommentOp | ActivityOp | NotifyOp;

export type Decision =
  | { action: 'skip'; reason: SkipReason; detail: string; /** a later event of the same chat may still act */ retry: boolean }
  | {
      action: 'apply';
      /** primary / repeat request, or a later event of a chat already linked */
      request: 'primary' | 'repeat' | 'continuation';
      /** single-flight scope: one decision at a time per chat and per client identity */
      lockKeys: string[];
      ops: Operation[];
      /** what to store as the chat's link once applied (refs resolved to ids) */
      link: ChatLink;
    };
