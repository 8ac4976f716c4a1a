/**
 * The portal's CRM store with the legacy REST semantics (docs/facts/bitrix24.md#crm-lead, docs/facts/bitrix24.md#crm-deals-contacts;
 * crm/classes/general/restservice.php): scalar fields go out as strings or null, multifields
 * only when present, add/update follow the multifield rules (no ID → add, ID → replace,
 * ID + empty VALUE or DELETE=Y → remove). Permissions are the common "own + open" role:
 * admins see everything, others what they are responsible for or what is OPENED=Y.
 * Every add/update/delete fires ONCRM<TYPE>ADD/UPDATE/DELETE with `{FIELDS: {ID}}` through `emit`; userId 0
 * means an automated change (auth without tokens, docs/facts/bitrix24.md#crm-events).
 */
import type { Clock } from '../../../../server/domain/clock';
import { RestError } from '../errors';
import { isoDate, isRecord, phpEntries, phpInt, phpString, type Params } from '../php';
import { Directory } from './directory';
import { ENTITY_MULTIFIELDS, FIELDS, MULTIFIELD_VALUE_TYPES, fieldDef } from './fields';
import type { CrmActivity, CrmEntity, EntityType, MultiField, MultiFieldType, Notification, StatusRow, TimelineComment } from './types';

export type Emit = (event: string, data: unknown, userId: number) => void;

export interface Actor {
  id: number;
  admin: boolean;
}

/** Legacy CRM errors have an empty code and HTTP 400 (RestException default, docs/facts/bitrix24.md#crm-lead note). */
export const crmError = (message: string): RestError => new RestError('', message, 400);

const TITLES: Record<EntityType, string> = { LEAD: 'Лид', DEAL: 'Сделка', CONTACT: 'Контакт', COMPANY: 'Компания' };
const NOT_FOUND: Record<EntityType, string> = {
  LEAD: 'Lead is not found',
  DEAL: 'Deal is not found',
  CONTACT: 'Contact is not found',
  COMPANY: 'Company is not found',
};

/** Phones compare by digits, a Russian 8/10-digit form normalised to 7… (duplicate criterion). */
export function normalizePhone(v: string): string {
  let d = v.replace(/\D+/g, '');
  if (d.length === 11 && d.startsWith('8')) d = `7${d.slice(1)}`;
  if (d.length === 10) d = `7${d}`;
  return d;
}

const yn = (v: unknown): 'Y' | 'N' => (v === true || v === 1 || ['Y', 'y', '1', 'true'].includes(phpString(v)) ? 'Y' : 'N');

export class CrmStore {
  readonly directory = new Directory();
  readonly entities: Record<EntityType, Map<number, CrmEntity>> = {
    LEAD: new Map(),
    DEAL: new Map(),
    CONTACT: new Map(),
    COMPANY: new Map(),
  };
  readonly commentRows: TimelineComment[] = [];
  readonly activityRows: CrmActivity[] = [];
  readonly notificationRows: Notification[] = [];
  private readonly seq: Record<EntityType, number> = { LEAD: 0, DEAL: 0, CONTACT: 0, COMPANY: 0 };
  private fmSeq = 1000;
  private commentSeq = 0;
  private activitySeq = 0;
  private notifySeq = 0;

  constructor(
    private readonly clock: Clock,
    private readonly emit: Emit,
  ) {}

  now(): string {
    return isoDate(this.clock.now());
  }

  // ---------------- reading ----------------

  get(type: EntityType, id: number): CrmEntity | undefined {
    return this.entities[type].get(id);
  }

  all(type: EntityType): CrmEntity[] {
    return [...this.entities[type].values()].sort((a, b) => a.id - b.id);
  }

  /** The "own + open" read/update rule of the default employee role. */
  canAccess(actor: Actor, e: CrmEntity): boolean {
    return actor.admin || e.fields.ASSIGNED_BY_ID === String(actor.id) || e.fields.OPENED === 'Y';
  }

  visible(actor: Actor, type: EntityType): CrmEntity[] {
    return this.all(type).filter((e) => this.canAccess(actor, e));
  }

  /** get: permission before existence, so an employee asking for a missing id hears "Access denied." */
  readable(actor: Actor, type: EntityType, id: number): CrmEntity {
    const e = this.get(type, id);
    if (!actor.admin && (!e || !this.canAccess(actor, e))) throw crmError('Access denied.');
    if (!e) throw crmError('Not found');
    return e;
  }

  // ---------------- wire form ----------------

  /** crm.*.get: every scalar field, then UF_*, then the non-empty multifields. */
  toGet(e: CrmEntity): Params {
    const out: Params = {};
    for (const d of FIELDS[e.type]) out[d.name] = e.fields[d.name] ?? null;
    if (e.type === 'LEAD') for (const uf of this.directory.leadUserFields) out[uf.FIELD_NAME] = e.uf[uf.FIELD_NAME] ?? '';
    Object.assign(out, this.multifields(e, ENTITY_MULTIFIELDS[e.type]));
    return out;
  }

  /** crm.*.list: `*`/empty = scalars; `UF_*` = custom fields; multifields only when named (docs/facts/bitrix24.md#crm-lead). */
  toList(e: CrmEntity, select: string[]): Params {
    const all = select.length === 0 || select.includes('*');
    const fmTypes = ENTITY_MULTIFIELDS[e.type].filter((t) => select.includes(t));
    const out: Params = {};
    if (!all && fmTypes.length > 0 && !select.includes('ID')) out.ID = String(e.id); // identity is added for FM (getList)
    for (const d of FIELDS[e.type]) if (all || select.includes(d.name)) out[d.name] = e.fields[d.name] ?? null;
    if (e.type === 'LEAD') {
      for (const uf of this.directory.leadUserFields) {
        if (select.includes('UF_*') || select.includes(uf.FIELD_NAME)) out[uf.FIELD_NAME] = e.uf[uf.FIELD_NAME] ?? null;
      }
    }
    Object.assign(out, this.multifields(e, fmTypes));
    return out;
  }

  private multifields(e: CrmEntity, types: readonly MultiFieldType[]): Params {
    const out: Params = {};
    for (const m of [...e.fm].sort((a, b) => a.id - b.id)) {
      if (!types.includes(m.typeId)) continue;
      const list = (out[m.typeId] as Params[] | undefined) ?? [];
      list.push({ ID: String(m.id), VALUE_TYPE: m.valueType, VALUE: m.value, TYPE_ID: m.typeId });
      out[m.typeId] = list;
    }
    return out;
  }

  // ---------------- writing ----------------

  /**
   * crm.*.add. `actor` is whose rights apply (null = system, e.g. the open-line tracker);
   * `causeUserId` is the user the event is attributed to (0 = automation, token-less auth).
   */
  add(type: EntityType, input: Params, actor: Actor | null, causeUserId: number): CrmEntity {
    const id = ++this.seq[type];
    const now = this.now();
    const by = String(actor?.id ?? (causeUserId || 1));
    const e: CrmEntity = { type, id, fields: {}, fm: [], uf: {}, contactIds: [] };
    for (const d of FIELDS[type]) e.fields[d.name] = null;
    Object.assign(e.fields, {
      ID: String(id),
      ASSIGNED_BY_ID: by,
      CREATED_BY_ID: by,
      MODIFY_BY_ID: by,
      DATE_CREATE: now,
      DATE_MODIFY: now,
      OPENED: 'Y',
      LAST_ACTIVITY_BY: by,
      LAST_ACTIVITY_TIME: now,
    });
    if (type === 'LEAD') {
      Object.assign(e.fields, {
        STATUS_ID: 'NEW',
        CURRENCY_ID: 'RUB',
        OPPORTUNITY: '0.00',
        IS_MANUAL_OPPORTUNITY: 'N',
        IS_RETURN_CUSTOMER: 'N',
        BIRTHDATE: '',
        DATE_CLOSED: '',
        MOVED_BY_ID: by,
        MOVED_TIME: now,
      });
    } else if (type === 'DEAL') {
      Object.assign(e.fields, {
        TYPE_ID: 'SALE',
        CATEGORY_ID: '0',
        STAGE_ID: 'NEW',
        CURRENCY_ID: 'RUB',
        OPPORTUNITY: '0.00',
        IS_MANUAL_OPPORTUNITY: 'N',
        TAX_VALUE: '0.00',
        CLOSED: 'N',
        BEGINDATE: now.slice(0, 10) + 'T00:00:00+03:00',
        CLOSEDATE: '',
        IS_NEW: 'Y',
        IS_RECURRING: 'N',
        IS_RETURN_CUSTOMER: 'N',
        IS_REPEATED_APPROACH: 'N',
        MOVED_BY_ID: by,
        MOVED_TIME: now,
      });
    } else if (type === 'CONTACT') {
      Object.assign(e.fields, { TYPE_ID: 'CLIENT', EXPORT: 'Y', BIRTHDATE: '' });
    } else {
      Object.assign(e.fields, { COMPANY_TYPE: 'CUSTOMER', CURRENCY_ID: 'RUB', REVENUE: '0.00', IS_MY_COMPANY: 'N' });
    }
    this.applyScalars(e, input, true);
    this.applyMultifields(e, input, true);
    if (type === 'DEAL') this.applyDeal(e, input, true);
    if (type === 'LEAD') this.applyLeadStatus(e);
    if (!e.fields.TITLE && (type === 'LEAD' || type === 'DEAL' || type === 'COMPANY')) e.fields.TITLE = `${TITLES[type]} #${id}`;
    this.refreshFlags(e);
    this.entities[type].set(id, e);
    this.emit(`ONCRM${type}ADD`, { FIELDS: { ID: id } }, causeUserId);
    return e;
  }

  /** crm.*.update: permission check, then existence; returns true like the REST method. */
  update(type: EntityType, id: number, input: Params, actor: Actor | null, causeUserId: number): true {
    const e = this.get(type, id);
    if (actor && !actor.admin && (!e || !this.canAccess(actor, e))) throw crmError('Access denied.');
    if (!e) throw crmError(NOT_FOUND[type]);
    this.applyScalars(e, input, false);
    this.applyMultifields(e, input, false);
    if (type === 'DEAL') this.applyDeal(e, input, false);
    if (type === 'LEAD') this.applyLeadStatus(e);
    e.fields.DATE_MODIFY = this.now();
    e.fields.MODIFY_BY_ID = String(actor?.id ?? (causeUserId || e.fields.MODIFY_BY_ID));
    this.refreshFlags(e);
    this.emit(`ONCRM${type}UPDATE`, { FIELDS: { ID: id } }, causeUserId);
    return true;
  }

  /**
   * crm.*.delete (legacy CCrm*::Delete): permission check, then existence; the item goes, the
   * deals and leads bound to a deleted contact or company lose that binding, and
   * ONCRM<TYPE>DELETE fires with `{FIELDS: {ID}}`. Returns true like the REST method.
   */
  delete(type: EntityType, id: number, actor: Actor | null, causeUserId: number): true {
    const e = this.get(type, id);
    if (actor && !actor.admin && (!e || !this.canAccess(actor, e))) throw crmError('Access denied.');
    if (!e) throw crmError(NOT_FOUND[type]);
    this.entities[type].delete(id);
    for (const other of [...this.entities.DEAL.values(), ...this.entities.LEAD.values()]) {
      if (type === 'CONTACT' && other.fields.CONTACT_ID === String(id)) other.fields.CONTACT_ID = null;
      if (type === 'CONTACT') other.contactIds = other.contactIds.filter((c) => c !== id);
      if (type === 'COMPANY' && other.fields.COMPANY_ID === String(id)) other.fields.COMPANY_ID = null;
    }
    this.emit(`ONCRM${type}DELETE`, { FIELDS: { ID: id } }, causeUserId);
    return true;
  }

  private applyScalars(e: CrmEntity, input: Params, isAdd: boolean): void {
    for (const [key, raw] of Object.entries(input)) {
      if (key.startsWith('UF_')) {
        if (e.type === 'LEAD' && this.directory.leadUserFields.some((u) => u.FIELD_NAME === key)) e.uf[key] = phpString(raw);
        continue;
      }
      const d = fieldDef(e.type, key);
      if (!d || d.ro || (d.immutable && !isAdd) || Array.isArray(raw) || isRecord(raw)) continue;
      if (e.type === 'DEAL' && (key === 'STAGE_ID' || key === 'CATEGORY_ID' || key === 'CONTACT_ID')) continue; // applyDeal
      if (raw === null || raw === undefined) {
        e.fields[key] = null;
        continue;
      }
      switch (d.type) {
        case 'char':
          e.fields[key] = yn(raw);
          break;
        case 'double':
          e.fields[key] = (Number.parseFloat(phpString(raw)) || 0).toFixed(2);
          break;
        case 'integer':
        case 'user':
        case 'crm_company':
        case 'crm_contact':
        case 'crm_lead':
        case 'crm_category': {
          const n = phpInt(raw);
          e.fields[key] = n > 0 ? String(n) : key === 'ASSIGNED_BY_ID' ? e.fields[key] ?? null : null;
          break;
        }
        case 'date':
        case 'datetime': {
          const s = phpString(raw);
          const ms = s === '' ? Number.NaN : Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(s) ? `${s}T00:00:00+03:00` : s);
          e.fields[key] = Number.isNaN(ms) ? '' : isoDate(ms);
          break;
        }
        default:
          e.fields[key] = phpString(raw);
      }
    }
    if (e.type === 'LEAD' && e.fields.CONTACT_ID !== null) e.fields.IS_RETURN_CUSTOMER = 'Y';
  }

  /** Deal funnel, stage, contacts: CATEGORY_ID only on add, STAGE_ID must belong to the funnel. */
  private applyDeal(e: CrmEntity, input: Params, isAdd: boolean): void {
    if (isAdd && input.CATEGORY_ID !== undefined) {
      const cat = phpInt(input.CATEGORY_ID);
      e.fields.CATEGORY_ID = String(this.directory.categories.some((c) => c.id === cat) ? cat : 0);
    }
    const cat = phpInt(e.fields.CATEGORY_ID);
    const stages = this.directory.stages(cat);
    if (isAdd) e.fields.STAGE_ID = stages[0]?.STATUS_ID ?? 'NEW';
    const wanted = phpString(input.STAGE_ID);
    if (wanted !== '' && stages.some((s) => s.STATUS_ID === wanted)) {
      if (wanted !== e.fields.STAGE_ID) {
        e.fields.MOVED_TIME = this.now();
        e.fields.MOVED_BY_ID = e.fields.MODIFY_BY_ID ?? null;
      }
      e.fields.STAGE_ID = wanted;
    }
    const stage = stages.find((s) => s.STATUS_ID === e.fields.STAGE_ID);
    e.fields.STAGE_SEMANTIC_ID = stage?.SEMANTICS ?? 'P';
    e.fields.CLOSED = stage?.SEMANTICS ? 'Y' : 'N';
    let ids: number[] | null = null;
    if (input.CONTACT_IDS !== undefined) ids = phpEntries(input.CONTACT_IDS).map(([, v]) => phpInt(v)).filter((n) => n > 0);
    else if (input.CONTACT_ID !== undefined) ids = phpInt(input.CONTACT_ID) > 0 ? [phpInt(input.CONTACT_ID)] : [];
    if (ids) {
      e.contactIds = [...new Set(ids.filter((n) => this.entities.CONTACT.has(n)))];
      e.fields.CONTACT_ID = e.contactIds[0] !== undefined ? String(e.contactIds[0]) : null;
    }
  }

  private applyLeadStatus(e: CrmEntity): void {
    if (!this.directory.status('STATUS', e.fields.STATUS_ID ?? '')) e.fields.STATUS_ID = 'NEW';
    const s = this.directory.status('STATUS', e.fields.STATUS_ID ?? 'NEW');
    const semantic = s?.SEMANTICS ?? 'P';
    if (semantic !== e.fields.STATUS_SEMANTIC_ID && e.fields.STATUS_SEMANTIC_ID !== null) e.fields.MOVED_TIME = this.now();
    e.fields.STATUS_SEMANTIC_ID = semantic;
    e.fields.DATE_CLOSED = semantic === 'P' ? '' : (e.fields.DATE_CLOSED || this.now());
  }

  /** docs/facts/bitrix24.md#crm-lead multifield rules; an ID of another entity's row is ignored. */
  private applyMultifields(e: CrmEntity, input: Params, isAdd: boolean): void {
    for (const type of ENTITY_MULTIFIELDS[e.type]) {
      if (input[type] === undefined) continue;
      for (const [, raw] of phpEntries(input[type])) {
        if (!isRecord(raw)) continue;
        const value = phpString(raw.VALUE).trim();
        const valueType = phpString(raw.VALUE_TYPE).toUpperCase();
        const vt = MULTIFIELD_VALUE_TYPES[type].includes(valueType) ? valueType : (MULTIFIELD_VALUE_TYPES[type][0] ?? 'OTHER');
        const id = isAdd ? 0 : phpInt(raw.ID);
        if (id > 0) {
          const row = e.fm.find((m) => m.id === id && m.typeId === type);
          if (!row) continue;
          if (value === '' || phpString(raw.DELETE).toUpperCase() === 'Y') e.fm = e.fm.filter((m) => m !== row);
          else {
            row.value = value;
            if (valueType !== '') row.valueType = vt;
          }
        } else if (value !== '') {
          e.fm.push({ id: ++this.fmSeq, typeId: type, valueType: vt, value });
        }
      }
    }
  }

  private refreshFlags(e: CrmEntity): void {
    if (e.type === 'DEAL') return;
    e.fields.HAS_PHONE = e.fm.some((m) => m.typeId === 'PHONE') ? 'Y' : 'N';
    e.fields.HAS_EMAIL = e.fm.some((m) => m.typeId === 'EMAIL') ? 'Y' : 'N';
    e.fields.HAS_IMOL = e.fm.some((m) => m.typeId === 'IM' && m.value.startsWith('imol|')) ? 'Y' : 'N';
  }

  /** Adds a multifield value unless the entity already has it (tracker updates, no event). */
  addMultifield(e: CrmEntity, typeId: MultiFieldType, valueType: string, value: string): boolean {
    const same = (m: MultiField) =>
      m.typeId === typeId && (typeId === 'PHONE' ? normalizePhone(m.value) === normalizePhone(value) : m.value.toLowerCase() === value.toLowerCase());
    if (e.fm.some(same)) return false;
    e.fm.push({ id: ++this.fmSeq, typeId, valueType, value });
    this.refreshFlags(e);
    return true;
  }

  // ---------------- duplicates (docs/facts/bitrix24.md#crm-deals-contacts crm.duplicate.findbycomm) ----------------

  findByComm(kind: 'PHONE' | 'EMAIL', value: string, types: readonly EntityType[]): Array<[EntityType, number]> {
    const want = kind === 'PHONE' ? normalizePhone(value) : value.trim().toLowerCase();
    if (want === '') return [];
    const out: Array<[EntityType, number]> = [];
    for (const type of types) {
      for (const e of this.all(type)) {
        const hit = e.fm.some(
          (m) => m.typeId === kind && (kind === 'PHONE' ? normalizePhone(m.value) === want : m.value.trim().toLowerCase() === want),
        );
        if (hit) out.push([type, e.id]);
      }
    }
    return out;
  }

  // ---------------- timeline ----------------

  addComment(c: Omit<TimelineComment, 'id' | 'created'>): TimelineComment {
    const row = { ...c, id: ++this.commentSeq, created: this.now() };
    this.commentRows.push(row);
    this.emit('ONCRMTIMELINECOMMENTADD', { FIELDS: { ID: row.id } }, c.authorId);
    return row;
  }

  /** `causeUserId` 0 = automation (the open-line tracker): the event auth carries no tokens. */
  addActivity(a: Omit<CrmActivity, 'id' | 'created'>, causeUserId = a.authorId): CrmActivity {
    const row = { ...a, id: ++this.activitySeq, created: this.now() };
    this.activityRows.push(row);
    const owner = this.get(a.ownerType, a.ownerId);
    if (owner && owner.type !== 'DEAL') {
      owner.fields.LAST_ACTIVITY_TIME = row.created;
      owner.fields.LAST_ACTIVITY_BY = String(a.authorId);
    }
    this.emit('ONCRMACTIVITYADD', { FIELDS: { ID: row.id } }, causeUserId);
    return row;
  }

  notify(n: Omit<Notification, 'id' | 'date'>): Notification {
    // TAG is unique per app: a new notification with the same tag replaces the old one
    const keep = this.notificationRows.filter((x) => !(n.tag !== '' && x.tag === n.tag && x.fromApp === n.fromApp));
    this.notificationRows.splice(0, this.notificationRows.length, ...keep);
    const row = { ...n, id: ++this.notifySeq, date: this.now() };
    this.notificationRows.push(row);
    return row;
  }

  // ---------------- test accessors (EmulatedPortal.crm) ----------------

  /** crm.lead.get shapes of every lead, by id (no permission filter). */
  leads(): Params[] {
    return this.all('LEAD').map((e) => this.toGet(e));
  }

  deals(): Params[] {
    return this.all('DEAL').map((e) => ({ ...this.toGet(e), CONTACT_IDS: [...e.contactIds] }));
  }

  contacts(): Params[] {
    return this.all('CONTACT').map((e) => this.toGet(e));
  }

  companies(): Params[] {
    return this.all('COMPANY').map((e) => this.toGet(e));
  }

  comments(): TimelineComment[] {
    return this.commentRows.map((c) => ({ ...c, files: [...c.files] }));
  }

  activities(): CrmActivity[] {
    return this.activityRows.map((a) => ({ ...a }));
  }

  notifications(): Notification[] {
    return this.notificationRows.map((n) => ({ ...n }));
  }

  /** crm.status.list rows, e.g. `statuses('SOURCE')` to see the tracker's `"<line>|<TYPE>"` sources. */
  statuses(entityId?: string): StatusRow[] {
    return this.directory.statuses.filter((s) => entityId === undefined || s.ENTITY_ID === entityId).map((s) => ({ ...s, EXTRA: { ...s.EXTRA } }));
  }
}
