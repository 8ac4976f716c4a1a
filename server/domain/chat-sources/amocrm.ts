import type { Conversation } from '../analytics-pipeline';

/**
 * amoCRM as a source of the analytics pipeline (seed 003; docs/facts/chat-sources.md#amocrm): a closed talk of
 * the multi-widget becomes a REQUEST (amoCRM gives no transcript) dated when the talk was created,
 * with the contact's name, first phone and first e-mail, and the UIS session from the custom field
 * the admin chose («Кастомное поле для сессии») on the talk's lead (or contact). The messenger
 * mapping is keyed by the talk's `origin`.
 */
export interface AmoFieldValue {
  field_id?: number;
  field_code?: string | null;
  values?: Array<{ value?: unknown }>;
}

export interface AmoTalk {
  talkId: number;
  /** unix seconds */
  createdAt: number;
  updatedAt: number;
  contactId: number | null;
  entityId: number | null;
  entityType: string | null;
  isInWork: boolean;
  origin: string;
}

export interface AmoEntity {
  id: number;
  name?: string;
  custom_fields_values?: AmoFieldValue[] | null;
}

export interface SessionField {
  entity: 'leads' | 'contacts';
  fieldId: number;
}

export function amoExtId(accountId: number, talkId: number): string {
  return `amocrm:${accountId}:${talkId}`;
}

/** The first value of a field picked by id or by code (`PHONE`, `EMAIL`). */
export function fieldValue(entity: AmoEntity | null, pick: { id?: number; code?: string }): string | null {
  for (const f of entity?.custom_fields_values ?? []) {
    if ((pick.id !== undefined && f.field_id === pick.id) || (pick.code !== undefined && f.field_code === pick.code)) {
      const v = f.values?.find((x) => typeof x.value === 'string' || typeof x.value === 'number')?.value;
      if (v !== undefined && String(v).trim() !== '') return String(v).trim();
    }
  }
  return null;
}

/** The talk's lead, when its entity is a lead (a talk may belong to a customer, or to nothing). */
export function leadIdOf(talk: AmoTalk): number | null {
  return talk.entityType === 'lead' && talk.entityId ? talk.entityId : null;
}

export function amoConversation(accountId: number, talk: AmoTalk, lead: AmoEntity | null, contact: AmoEntity | null, sessionField: SessionField | null): Conversation {
  const holder = sessionField?.entity === 'contacts' ? contact : lead;
  return {
    extId: amoExtId(accountId, talk.talkId),
    kind: 'request',
    channel: talk.origin,
    startedAt: talk.createdAt * 1000,
    client: { name: contact?.name?.trim() || null, phone: fieldValue(contact, { code: 'PHONE' }), email: fieldValue(contact, { code: 'EMAIL' }) },
    sessionId: sessionField ? fieldValue(holder, { id: sessionField.fieldId }) : null,
    text: `Чат amoCRM (${talk.origin || 'канал не указан'}), беседа ${talk.talkId}`,
    formName: `amoCRM: ${talk.origin || 'чат'}`,
  };
}
