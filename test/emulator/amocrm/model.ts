/**
 * The data of an emulated amoCRM account, shaped like API v4 answers (amocrm.ru/developers:
 * crm_platform/talks-api, leads-api, contacts-api, custom-fields; docs/facts/chat-sources.md#amocrm-api):
 * contacts with PHONE / EMAIL multitext fields, leads with `custom_fields_values` and their
 * contacts, talks («беседы») of the multi-widget, custom fields of leads and contacts, webhooks.
 * Every talk change is reported to the webhook sender (hooks.ts): amoCRM fires «Беседа изменена»
 * on many changes — a client's message, an operator reading, replying, closing, a rating.
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../../../server/domain/clock';

export interface FieldValue {
  field_id: number;
  field_name: string;
  field_code: string | null;
  field_type: string;
  values: Array<{ value: string; enum_id?: number; enum_code?: string }>;
}

export interface CustomField {
  id: number;
  name: string;
  type: 'text' | 'numeric' | 'multitext' | 'select' | 'url' | 'date' | 'checkbox' | 'textarea';
  code: string | null;
  sort: number;
  entity_type: 'leads' | 'contacts';
  is_api_only: boolean;
}

export interface Contact {
  id: number;
  name: string;
  created_at: number;
  updated_at: number;
  custom_fields_values: FieldValue[] | null;
  /** addition: in «Неразобранное» the contact cannot be read until the lead is accepted */
  unsorted: boolean;
}

export interface Lead {
  id: number;
  name: string;
  price: number;
  status_id: number;
  pipeline_id: number;
  created_at: number;
  updated_at: number;
  custom_fields_values: FieldValue[] | null;
  contactIds: number[];
  unsorted: boolean;
}

export interface Talk {
  talk_id: number;
  created_at: number;
  updated_at: number;
  rate: number;
  contact_id: number;
  chat_id: string;
  entity_id: number | null;
  entity_type: 'lead' | 'customer' | null;
  is_in_work: boolean;
  is_read: boolean;
  origin: string;
  missed_at: number | null;
}

export interface Webhook {
  id: number;
  destination: string;
  settings: string[];
  sort: number;
  disabled: boolean;
  created_by: number;
  created_at: number;
  updated_at: number;
  /** addition: failed deliveries in a row (a run of failures disables the hook) */
  failures: number;
  /** addition: made by hand in «Настройки → Интеграции → Web hooks», not by API */
  byHand: boolean;
}

/** The website online chat's `origin` — not documented; chosen opaque so nothing may assume it. */
export const SITE_CHAT_ORIGIN = 'com.amocrm.amochat';

export type TalkChange = { kind: 'add' | 'update'; talk: Talk };

export class AmoAccount {
  readonly contacts: Contact[] = [];
  readonly leads: Lead[] = [];
  readonly talks: Talk[] = [];
  readonly webhooks: Webhook[] = [];
  readonly fields: CustomField[] = [];
  /** the admin user who connects integrations */
  readonly adminUserId: number;
  /** switches: the account is unpaid (402), webhooks cannot be made by API on this plan (403) */
  unpaid = false;
  webhooksByApi = true;
  /** talks whose GET answers 403 (the user has no rights on the contact) */
  readonly forbiddenTalks = new Set<number>();
  /** the custom field the admin made for the UIS session (a text field of leads) */
  readonly sessionField: CustomField;
  private seq: { contact: number; lead: number; talk: number; field: number; hook: number };

  constructor(
    readonly id: number,
    readonly subdomain: string,
    readonly name: string,
    private readonly clock: Clock,
    private readonly changed: (account: AmoAccount, change: TalkChange) => void,
  ) {
    this.adminUserId = 8_100_001 + id % 1000;
    this.seq = { contact: 28_771_643, lead: 23_711_835, talk: 106_564, field: 1_049_100, hook: 11_201 };
    const field = (name: string, type: CustomField['type'], entity: CustomField['entity_type'], code: string | null = null): CustomField => {
      const f: CustomField = { id: this.seq.field++, name, type, code, sort: 500 + this.fields.length, entity_type: entity, is_api_only: false };
      this.fields.push(f);
      return f;
    };
    field('Телефон', 'multitext', 'contacts', 'PHONE');
    field('Email', 'multitext', 'contacts', 'EMAIL');
    field('Должность', 'text', 'contacts', 'POSITION');
    // enough lead fields that the one made for the session is on the second page (limit 50)
    for (const u of ['utm_source', 'utm_medium', 'utm_campaign', 'utm_content', 'utm_term', 'roistat', 'referrer', 'gclid', 'yclid']) field(u, 'text', 'leads', u.toUpperCase());
    for (let i = 1; i <= 45; i++) field(`Поле ${i}`, i % 3 ? 'text' : 'select', 'leads');
    this.sessionField = field('Сессия UIS', 'text', 'leads');
  }

  private nowSec(): number {
    return Math.floor(this.clock.now() / 1000);
  }

  contact(id: number): Contact | undefined {
    return this.contacts.find((c) => c.id === id);
  }
  lead(id: number): Lead | undefined {
    return this.leads.find((l) => l.id === id);
  }
  talk(id: number): Talk {
    const t = this.talks.find((x) => x.talk_id === id);
    if (!t) throw new Error(`no talk ${id}`);
    return t;
  }

  addContact(o: { name?: string; phone?: string; email?: string; unsorted?: boolean }): Contact {
    const values: FieldValue[] = [];
    const phone = this.fields.find((f) => f.code === 'PHONE')!;
    const email = this.fields.find((f) => f.code === 'EMAIL')!;
    if (o.phone) values.push({ field_id: phone.id, field_name: phone.name, field_code: 'PHONE', field_type: 'multitext', values: [{ value: o.phone, enum_id: 111, enum_code: 'WORK' }] });
    if (o.email) values.push({ field_id: email.id, field_name: email.name, field_code: 'EMAIL', field_type: 'multitext', values: [{ value: o.email, enum_id: 121, enum_code: 'WORK' }] });
    const c: Contact = { id: this.seq.contact++, name: o.name ?? '', created_at: this.nowSec(), updated_at: this.nowSec(), custom_fields_values: values.length ? values : null, unsorted: !!o.unsorted };
    this.contacts.push(c);
    return c;
  }

  /** Lead custom field values from `setMeta({lead: {custom_fields: [{id, values: [{value}]}]}})`. */
  addLead(o: { name: string; contactId: number; fields?: Array<{ id: number; value: string }>; unsorted?: boolean }): Lead {
    const values = (o.fields ?? []).flatMap((v) => {
      const f = this.fields.find((x) => x.id === v.id && x.entity_type === 'leads');
      return f ? [{ field_id: f.id, field_name: f.name, field_code: f.code, field_type: f.type, values: [{ value: v.value }] }] : [];
    });
    const l: Lead = {
      id: this.seq.lead++,
      name: o.name,
      price: 0,
      status_id: o.unsorted ? 142_00001 : 142_00002,
      pipeline_id: 7_001,
      created_at: this.nowSec(),
      updated_at: this.nowSec(),
      custom_fields_values: values.length ? values : null,
      contactIds: [o.contactId],
      unsorted: !!o.unsorted,
    };
    this.leads.push(l);
    return l;
  }

  /**
   * A client writes from the multi-widget (site chat or a messenger): contact, lead (unless
   * `entity` is null or a customer) and a talk in work; `meta` are the lead fields the site set
   * with amo_social_button.setMeta before the first message.
   */
  clientChat(o: { origin?: string; name?: string; phone?: string; email?: string; meta?: Array<{ id: number; value: string }>; unsorted?: boolean; entity?: 'lead' | 'customer' | null }): Talk {
    const contact = this.addContact({ name: o.name, phone: o.phone, email: o.email, unsorted: o.unsorted });
    const entity = o.entity === undefined ? 'lead' : o.entity;
    const lead = entity === 'lead' ? this.addLead({ name: `Сделка с ${o.name ?? 'клиентом'}`, contactId: contact.id, fields: o.meta, unsorted: o.unsorted }) : null;
    const t: Talk = {
      talk_id: this.seq.talk++,
      created_at: this.nowSec(),
      updated_at: this.nowSec(),
      rate: 0,
      contact_id: contact.id,
      chat_id: randomUUID(),
      entity_id: lead?.id ?? (entity === 'customer' ? 91_001 : null),
      entity_type: entity,
      is_in_work: true,
      is_read: false,
      origin: o.origin ?? SITE_CHAT_ORIGIN,
      missed_at: null,
    };
    this.talks.push(t);
    this.changed(this, { kind: 'add', talk: t });
    return t;
  }

  private touch(id: number, patch: Partial<Talk>): Talk {
    const t = this.talk(id);
    Object.assign(t, patch, { updated_at: Math.max(this.nowSec(), t.updated_at + 1) });
    this.changed(this, { kind: 'update', talk: t });
    return t;
  }

  clientWrites(id: number): Talk {
    return this.touch(id, { is_read: false, is_in_work: true });
  }
  operatorReads(id: number): Talk {
    return this.touch(id, { is_read: true });
  }
  operatorReplies(id: number): Talk {
    return this.touch(id, { is_read: true });
  }
  /** «Закрыть беседу»: is_in_work → 0 */
  closeTalk(id: number): Talk {
    return this.touch(id, { is_in_work: false, is_read: true });
  }
  /** the client rates a closed talk: another «Беседа изменена» */
  rate(id: number, rate: number): Talk {
    return this.touch(id, { rate });
  }
  /** the unsorted lead is accepted: its contact becomes readable */
  acceptUnsorted(leadId: number): void {
    const l = this.lead(leadId);
    if (!l) return;
    l.unsorted = false;
    for (const id of l.contactIds) {
      const c = this.contact(id);
      if (c) c.unsorted = false;
    }
  }

  addWebhook(destination: string, settings: string[], byHand: boolean, sort = 1): Webhook {
    const existing = this.webhooks.find((w) => w.destination === destination);
    if (existing) {
      existing.settings = [...settings];
      existing.disabled = false;
      existing.failures = 0;
      existing.updated_at = this.nowSec();
      return existing;
    }
    const w: Webhook = { id: this.seq.hook++, destination, settings: [...settings], sort, disabled: false, created_by: this.adminUserId, created_at: this.nowSec(), updated_at: this.nowSec(), failures: 0, byHand };
    this.webhooks.push(w);
    return w;
  }
}

/** API v4 JSON of a talk (talks-api). */
export function talkJson(a: AmoAccount, t: Talk, self: string): Record<string, unknown> {
  return {
    talk_id: t.talk_id,
    created_at: t.created_at,
    updated_at: t.updated_at,
    rate: t.rate,
    contact_id: t.contact_id,
    chat_id: t.chat_id,
    entity_id: t.entity_id,
    entity_type: t.entity_type,
    is_in_work: t.is_in_work,
    is_read: t.is_read,
    origin: t.origin,
    missed_at: t.missed_at,
    account_id: a.id,
    _links: { self: { href: `${self}/api/v4/talks/${t.talk_id}` } },
    _embedded: { contacts: [{ id: t.contact_id }], ...(t.entity_type === 'lead' && t.entity_id ? { leads: [{ id: t.entity_id }] } : {}) },
  };
}

export function leadJson(a: AmoAccount, l: Lead, self: string, withContacts: boolean): Record<string, unknown> {
  return {
    id: l.id,
    name: l.name,
    price: l.price,
    responsible_user_id: a.adminUserId,
    group_id: 0,
    status_id: l.status_id,
    pipeline_id: l.pipeline_id,
    loss_reason_id: null,
    created_by: 0,
    updated_by: 0,
    created_at: l.created_at,
    updated_at: l.updated_at,
    closed_at: null,
    closest_task_at: null,
    is_deleted: false,
    custom_fields_values: l.custom_fields_values,
    score: null,
    account_id: a.id,
    _links: { self: { href: `${self}/api/v4/leads/${l.id}` } },
    _embedded: { tags: [], companies: [], ...(withContacts ? { contacts: l.contactIds.map((id, i) => ({ id, is_main: i === 0, _links: { self: { href: `${self}/api/v4/contacts/${id}` } } })) } : {}) },
  };
}

export function contactJson(a: AmoAccount, c: Contact, self: string): Record<string, unknown> {
  const [first = '', ...rest] = c.name.split(' ');
  return {
    id: c.id,
    name: c.name,
    first_name: first,
    last_name: rest.join(' '),
    responsible_user_id: a.adminUserId,
    group_id: 0,
    created_by: 0,
    updated_by: 0,
    created_at: c.created_at,
    updated_at: c.updated_at,
    closest_task_at: null,
    is_deleted: false,
    custom_fields_values: c.custom_fields_values,
    account_id: a.id,
    _links: { self: { href: `${self}/api/v4/contacts/${c.id}` } },
    _embedded: { tags: [], companies: [] },
  };
}
