/**
 * The emulated portal's CRM as the legacy `crm.*` REST layer sees it (docs/facts/bitrix24.md#crm):
 * scalar fields already in their wire form (strings, `null` for empty), multifields as rows,
 * custom (UF_*) fields, directories, timeline comments and activities.
 */

export type EntityType = 'LEAD' | 'DEAL' | 'CONTACT' | 'COMPANY';

/** CCrmOwnerType ids (crm.activity.todo.add `ownerTypeId`, docs/facts/bitrix24.md#crm-deals-contacts). */
export const OWNER_TYPE_ID: Record<EntityType, number> = { LEAD: 1, DEAL: 2, CONTACT: 3, COMPANY: 4 };

export type MultiFieldType = 'PHONE' | 'EMAIL' | 'WEB' | 'IM' | 'LINK';
export const MULTIFIELD_TYPES: readonly MultiFieldType[] = ['PHONE', 'EMAIL', 'WEB', 'IM', 'LINK'];

/** One b_crm_field_multi row. */
export interface MultiField {
  id: number;
  typeId: MultiFieldType;
  valueType: string;
  value: string;
}

export interface CrmEntity {
  type: EntityType;
  id: number;
  /** scalar fields in wire form: strings, or null when empty */
  fields: Record<string, string | null>;
  fm: MultiField[];
  uf: Record<string, unknown>;
  /** deals: CONTACT_IDS in binding order (the first is CONTACT_ID) */
  contactIds: number[];
}

export interface TimelineComment {
  id: number;
  entityType: EntityType;
  entityId: number;
  comment: string;
  authorId: number;
  created: string;
  files: Array<{ name: string; size: number }>;
}

export interface CrmActivity {
  id: number;
  ownerType: EntityType;
  ownerId: number;
  /** 'CRM_TODO' for crm.activity.todo.add, 'IMOPENLINES_SESSION' for the open-line tracker */
  providerId: string;
  subject: string;
  description: string;
  deadline: string;
  responsibleId: number;
  authorId: number;
  created: string;
  completed: 'Y' | 'N';
  originId: string;
  associatedEntityId: number;
  /** a call activity (telephony: voximplant CVoxImplantCrmHelper::AddCall); owner = its first binding */
  call?: CallActivity;
}

/** The parts of a call activity the legacy REST and the timeline show (TYPE_ID 2, provider VOXIMPLANT_CALL). */
export interface CallActivity {
  /** every binding: company/contact and their open deals, or the lead (BindingSelector) */
  bindings: Array<{ ownerType: EntityType; ownerId: number }>;
  /** CCrmActivityDirection: 1 incoming (TYPE 2, 3), 2 outgoing (TYPE 1, 4, 5) */
  direction: 1 | 2;
  providerTypeId: 'CALL' | 'CALLBACK';
  startTime: string;
  endTime: string;
  duration: number;
  statusCode: string;
  /** SETTINGS.MISSED_CALL (STATUS_CODE 304 on an incoming call or callback) */
  missed: boolean;
  phone: string;
  callId: string;
  /** STORAGE_ELEMENT_IDS: the record attached with attachRecord */
  fileIds: number[];
}

/** b_crm_status as crm.status.list returns it. */
export interface StatusRow {
  ID: string;
  ENTITY_ID: string;
  STATUS_ID: string;
  NAME: string;
  NAME_INIT: string;
  SORT: string;
  SYSTEM: 'Y' | 'N';
  CATEGORY_ID: string | null;
  COLOR: string;
  SEMANTICS: 'S' | 'F' | null;
  EXTRA: { SEMANTICS: 'process' | 'success' | 'failure' | 'apology'; COLOR: string };
}

export interface DealCategory {
  id: number;
  name: string;
  sort: number;
}

export interface UserFieldDef {
  ID: string;
  ENTITY_ID: string;
  FIELD_NAME: string;
  USER_TYPE_ID: string;
  XML_ID: string;
  SORT: string;
  MULTIPLE: 'Y' | 'N';
  MANDATORY: 'Y' | 'N';
  SHOW_FILTER: string;
  SHOW_IN_LIST: 'Y' | 'N';
  EDIT_IN_LIST: 'Y' | 'N';
  IS_SEARCHABLE: 'Y' | 'N';
  SETTINGS: Record<string, unknown>;
  EDIT_FORM_LABEL: string;
  LIST_COLUMN_LABEL: string;
}

/** A portal user as user.get sees it (including ones that cannot log in to the emulator). */
export interface DirectoryUser {
  id: number;
  name: string;
  lastName: string;
  email: string;
  active: boolean;
  department: number[];
  workPosition: string;
  /** 'employee' for people; system users (EXTERNAL_AUTH_ID=rest_system) are never listed */
  externalAuthId: '' | 'rest_system';
  /** telephony: UF_PHONE_INNER (the internal number register/finish accept as USER_PHONE_INNER), PERSONAL_MOBILE, WORK_PHONE */
  phoneInner?: string;
  personalMobile?: string;
  workPhone?: string;
  /** timeman state searchCrmEntities reports (default UNAVAILABLE: work time tracking off for the user) */
  timeman?: 'OPENED' | 'CLOSED' | 'PAUSED' | 'EXPIRED' | 'UNAVAILABLE' | 'NOT_INSTALLED';
  /** messenger state (im.user.list.get): chosen status, idle since, absent until, last activity (ms); default online, seen now */
  presence?: { status?: 'online' | 'dnd' | 'away'; idleSince?: number | null; absentUntil?: number | null; lastActivity?: number | null };
}

export interface Notification {
  id: number;
  userId: number;
  message: string;
  messageOut: string;
  tag: string;
  subTag: string;
  fromApp: string;
  date: string;
}
