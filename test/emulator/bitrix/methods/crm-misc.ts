/**
 * CRM directories and helpers (docs/facts/bitrix24.md#crm-deals-contacts): crm.status.list, crm.category.list,
 * crm.lead.userfield.list, crm.duplicate.findbycomm, crm.timeline.comment.add,
 * crm.activity.todo.add. The last three are D7 engine controllers in the real portal, so their
 * failures carry codes (ACCESS_DENIED, OWNER_NOT_FOUND, INVALID_ARG_VALUE) unlike the legacy ones.
 */
import { RestError } from '../errors';
import { crmError } from '../crm/store';
import { OWNER_TYPE_ID, type CrmActivity, type EntityType } from '../crm/types';
import { isoDate, isRecord, phpEntries, phpInt, phpString, type Params } from '../php';
import { actorOf, crmArrayParam, crmParam } from './crm';
import { ListResult, page, type MethodDef, type RestCtx } from './registry';
import { telephonyOf } from '../telephony/store';

const engineError = (code: string, message: string): RestError => new RestError(code, message, 400);

/** CCrmOwnerType::ResolveID for names and numeric ids. */
export function ownerType(v: unknown): EntityType | null {
  const s = phpString(v).toUpperCase();
  if (/^\d+$/.test(s)) return (Object.entries(OWNER_TYPE_ID).find(([, n]) => n === Number(s))?.[0] as EntityType | undefined) ?? null;
  return (['LEAD', 'DEAL', 'CONTACT', 'COMPANY'] as const).find((t) => t === s) ?? null;
}

/** Simple equality filter over flat rows (status and user-field lists). */
function rowFilter(filter: Params): (row: Params) => boolean {
  const tests = Object.entries(filter).map(([k, want]) => {
    const key = k.replace(/^=/, '').toUpperCase();
    return (row: Params) => (key === 'LANG' ? true : phpString(row[key]) === phpString(want));
  });
  return (row) => tests.every((t) => t(row));
}

function statusList(p: Params, ctx: RestCtx): ListResult {
  const order = crmArrayParam(p, 'order');
  const filter = crmArrayParam(p, 'filter');
  const rows = ctx.portal.crm.directory.statuses.filter((s) => rowFilter(filter)(s as unknown as Params));
  const keys = Object.entries(order).map(([k, d]) => [k.toUpperCase(), phpString(d).toUpperCase() === 'DESC' ? -1 : 1] as const);
  const sorted = [...rows].sort((a, b) => {
    for (const [k, dir] of keys) {
      const x = (a as unknown as Params)[k];
      const y = (b as unknown as Params)[k];
      const c = k === 'SORT' || k === 'ID' ? Number(x) - Number(y) : phpString(x).localeCompare(phpString(y));
      if (c !== 0) return c * dir;
    }
    return Number(a.ID) - Number(b.ID);
  });
  return page(sorted, Math.max(0, ctx.start));
}

/** crm.category.list → `{categories:[…]}` with `total` next to `result` (engine Page, docs/facts/bitrix24.md#crm-deals-contacts). */
function categoryList(p: Params, ctx: RestCtx): ListResult {
  const raw = p.entityTypeId ?? p.ENTITY_TYPE_ID ?? p.entitytypeid;
  const entityTypeId = phpInt(raw);
  if (entityTypeId === 1 || entityTypeId === 3 || entityTypeId === 4) {
    throw new RestError('ENTITY_TYPE_NOT_SUPPORTED', 'Категории не поддерживаются для этого типа сущности', 400, {});
  }
  if (entityTypeId !== 2) throw engineError('NOT_FOUND', 'Тип не найден');
  const categories = ctx.portal.crm.directory.categories.map((c) => ({
    id: c.id,
    name: c.name,
    sort: c.sort,
    entityTypeId: 2,
    isDefault: c.id === 0 ? 'Y' : 'N',
    originId: '',
    originatorId: '',
  }));
  return new ListResult({ categories }, categories.length);
}

/** crm.lead.userfield.list: labels per language unless `filter[LANG]` picks one. */
function leadUserfieldList(p: Params, ctx: RestCtx): Params[] {
  const filter = crmArrayParam(p, 'filter');
  const lang = phpString(filter.LANG);
  return ctx.portal.crm.directory.leadUserFields
    .filter((u) => rowFilter(filter)(u as unknown as Params))
    .map((u) => {
      const label = (s: string) => (lang !== '' ? s : { ru: s, en: s });
      return {
        ...u,
        EDIT_FORM_LABEL: label(u.EDIT_FORM_LABEL),
        LIST_COLUMN_LABEL: label(u.LIST_COLUMN_LABEL),
        LIST_FILTER_LABEL: label(u.LIST_COLUMN_LABEL),
        ERROR_MESSAGE: label(''),
        HELP_MESSAGE: label(''),
      };
    });
}

/** crm.duplicate.findbycomm: `[]` when nothing; ≤20 per value, types in LEAD, CONTACT, COMPANY order. */
function findByComm(p: Params, ctx: RestCtx): Params | unknown[] {
  const type = phpString(crmParam(p, 'type')).toUpperCase();
  if (type !== 'EMAIL' && type !== 'PHONE') {
    throw crmError(type === '' ? 'Communication type is not defined.' : `Communication type '${type}' is not supported in current context.`);
  }
  const values = crmParam(p, 'values');
  if ((!Array.isArray(values) && !isRecord(values)) || phpEntries(values).length === 0) throw crmError('Communication values is not defined.');
  const wanted = p.entity_type ?? p.ENTITY_TYPE ?? p.EntityType;
  let types: EntityType[] = ['LEAD', 'CONTACT', 'COMPANY'];
  if (wanted !== undefined && phpString(wanted) !== '') {
    const t = ownerType(wanted);
    if (t === 'DEAL') throw crmError('Deal is not supported in current context.');
    if (t) types = [t];
  }
  const out: Record<string, number[]> = {};
  const seen = new Set<string>();
  let qty = 0;
  for (const [, v] of phpEntries(values)) {
    if (typeof v !== 'string' || v === '' || seen.has(v)) continue;
    seen.add(v);
    for (const [t, id] of ctx.portal.crm.findByComm(type, v, types).slice(0, 20)) {
      const list = out[t] ?? (out[t] = []);
      if (!list.includes(id)) list.push(id);
    }
    if (++qty >= 20) break;
  }
  return Object.keys(out).length ? out : [];
}

function timelineCommentAdd(p: Params, ctx: RestCtx): number {
  const fields = p.fields; // the engine binds the lower-case name only (docs/facts/bitrix24.md#crm-deals-contacts)
  if (!isRecord(fields)) throw engineError('INVALID_ARG_VALUE', 'Could not find value for parameter {fields}');
  const ownerId = phpInt(fields.ENTITY_ID);
  const type = phpInt(fields.ENTITY_TYPE_ID) > 0 ? ownerType(fields.ENTITY_TYPE_ID) : ownerType(fields.ENTITY_TYPE);
  if (ownerId <= 0 || !type) throw engineError('OWNER_NOT_FOUND', 'Owner was not found');
  const crm = ctx.portal.crm;
  const owner = crm.get(type, ownerId);
  if (!owner || !crm.canAccess(actorOf(ctx), owner)) throw engineError('ACCESS_DENIED', 'Доступ запрещён');
  const comment = phpString(fields.COMMENT).trim();
  if (comment === '') throw engineError('INVALID_ARG_VALUE', 'Empty comment message');
  const files = phpEntries(fields.FILES).flatMap(([, f]) => {
    const [name, data] = phpEntries(f).map(([, x]) => phpString(x));
    return name ? [{ name, size: Buffer.from(data ?? '', 'base64').length }] : [];
  });
  return crm.addComment({ entityType: type, entityId: ownerId, comment, authorId: ctx.user.id, files }).id;
}

function activityTodoAdd(p: Params, ctx: RestCtx): Params {
  const type = ownerType(p.ownerTypeId ?? p.OWNER_TYPE_ID);
  const ownerId = phpInt(p.ownerId ?? p.OWNER_ID);
  const deadlineRaw = phpString(p.deadline ?? p.DEADLINE);
  if (p.ownerTypeId === undefined && p.OWNER_TYPE_ID === undefined) throw engineError('INVALID_ARG_VALUE', 'Could not find value for parameter {ownerTypeId}');
  if (deadlineRaw === '') throw engineError('INVALID_ARG_VALUE', 'Could not find value for parameter {deadline}');
  const deadline = Date.parse(deadlineRaw);
  if (Number.isNaN(deadline)) throw engineError('INVALID_ARG_VALUE', 'Invalid value for parameter {deadline}');
  const crm = ctx.portal.crm;
  const owner = type ? crm.get(type, ownerId) : undefined;
  if (!type || !owner) throw engineError('OWNER_NOT_FOUND', 'Owner was not found');
  if (!crm.canAccess(actorOf(ctx), owner)) throw engineError('ACCESS_DENIED', 'Доступ запрещён');
  const responsibleId = phpInt(p.responsibleId) || ctx.user.id;
  const row = crm.addActivity({
    ownerType: type,
    ownerId,
    providerId: 'CRM_TODO',
    subject: phpString(p.title),
    description: phpString(p.description),
    deadline: isoDate(deadline),
    responsibleId,
    authorId: ctx.user.id,
    completed: 'N',
    originId: '',
    associatedEntityId: 0,
  });
  return { id: row.id };
}

/**
 * crm.timeline.comment.list: the comments of ONE entity — `filter[ENTITY_ID]` and
 * `filter[ENTITY_TYPE]` (lead, deal, contact, company) are required; order by ID, CREATED or
 * AUTHOR_ID; 50 per page. No read access → HTTP 400 with an empty `error` and «Access denied.».
 */
function timelineCommentList(p: Params, ctx: RestCtx): ListResult {
  const filter = isRecord(p.filter) ? p.filter : {};
  const ownerId = phpInt(filter.ENTITY_ID);
  const type = ownerType(filter.ENTITY_TYPE);
  if (ownerId <= 0 || !type) throw engineError('INVALID_ARG_VALUE', 'ENTITY_ID and ENTITY_TYPE are required in the filter');
  const crm = ctx.portal.crm;
  const owner = crm.get(type, ownerId);
  if (!owner || !crm.canAccess(actorOf(ctx), owner)) throw new RestError('', 'Access denied.', 400);
  const order = isRecord(p.order) ? Object.entries(p.order).map(([k, d]) => [k.toUpperCase(), phpString(d).toUpperCase() === 'DESC' ? -1 : 1] as const) : [];
  const rows = crm.commentRows
    .filter((c) => c.entityType === type && c.entityId === ownerId)
    .sort((a, b) => {
      for (const [k, dir] of order) {
        const c = k === 'AUTHOR_ID' ? a.authorId - b.authorId : k === 'CREATED' ? a.created.localeCompare(b.created) : a.id - b.id;
        if (c !== 0) return c * dir;
      }
      return a.id - b.id;
    });
  return page(rows, Math.max(0, ctx.start), (c) => ({
    ID: String(c.id),
    ENTITY_ID: String(c.entityId),
    ENTITY_TYPE: c.entityType.toLowerCase(),
    CREATED: c.created,
    COMMENT: c.comment,
    AUTHOR_ID: String(c.authorId),
    FILES: {},
  }));
}

/**
 * crm.activity.list (legacy list): equality / `@` IN filters on OWNER_TYPE_ID, OWNER_ID,
 * PROVIDER_ID, RESPONSIBLE_ID, COMPLETED, ID; `order[ID]`; `select`; activities of entities the
 * user cannot read are left out.
 */
function activityList(p: Params, ctx: RestCtx): ListResult {
  const filter = crmArrayParam(p, 'filter');
  const crm = ctx.portal.crm;
  const value = (a: CrmActivity, field: string): string => {
    switch (field) {
      case 'ID': return String(a.id);
      case 'PROVIDER_ID': return a.providerId;
      case 'RESPONSIBLE_ID': return String(a.responsibleId);
      case 'COMPLETED': return a.completed;
      default: return '';
    }
  };
  // a call activity has several bindings: OWNER_TYPE_ID + OWNER_ID match any of them (b_crm_act_bind)
  const owners = (a: CrmActivity) => a.call?.bindings ?? [{ ownerType: a.ownerType, ownerId: a.ownerId }];
  const entries = Object.entries(filter).map(([k, want]) => {
    const field = k.replace(/^[@=]+/, '').toUpperCase();
    const values = Array.isArray(want) || isRecord(want) ? phpEntries(want).map(([, v]) => phpString(v)) : [phpString(want)];
    return { field, values };
  });
  const ownerType = entries.find((e) => e.field === 'OWNER_TYPE_ID');
  const ownerId = entries.find((e) => e.field === 'OWNER_ID');
  const tests = entries
    .filter((e) => e.field !== 'OWNER_TYPE_ID' && e.field !== 'OWNER_ID')
    .map(({ field, values }) => (a: CrmActivity) => values.includes(value(a, field)));
  tests.push((a) =>
    owners(a).some(
      (o) => (!ownerType || ownerType.values.includes(String(OWNER_TYPE_ID[o.ownerType]))) && (!ownerId || ownerId.values.includes(String(o.ownerId))),
    ),
  );
  const actor = actorOf(ctx);
  const desc = phpString(crmArrayParam(p, 'order').ID).toUpperCase() === 'DESC';
  const select = phpEntries(crmArrayParam(p, 'select')).map(([, v]) => phpString(v).toUpperCase());
  const rows = crm.activityRows
    .filter((a) => {
      const readable = owners(a).some((o) => {
        const owner = crm.get(o.ownerType, o.ownerId);
        return owner && crm.canAccess(actor, owner);
      });
      return readable && tests.every((t) => t(a));
    })
    .sort((a, b) => (desc ? b.id - a.id : a.id - b.id));
  // `select` narrows the row (ID always stays); none or `*` gives every field
  const project = (row: Params): Params => (select.length === 0 || select.includes('*') ? row : Object.fromEntries(Object.entries(row).filter(([k]) => k === 'ID' || select.includes(k))));
  return page(rows, Math.max(0, ctx.start), (a) => project(activityRow(a)));
}

/** One activity as crm.activity.list / crm.activity.get show it. */
export function activityRow(a: CrmActivity): Params {
  return {
    ID: String(a.id),
    OWNER_TYPE_ID: String(OWNER_TYPE_ID[a.ownerType]),
    OWNER_ID: String(a.ownerId),
    PROVIDER_ID: a.providerId,
    SUBJECT: a.subject,
    DESCRIPTION: a.description,
    DEADLINE: a.deadline,
    RESPONSIBLE_ID: String(a.responsibleId),
    AUTHOR_ID: String(a.authorId),
    CREATED: a.created,
    COMPLETED: a.completed,
    ORIGIN_ID: a.originId,
    TYPE_ID: a.call ? '2' : '6',
    DIRECTION: a.call ? String(a.call.direction) : '0',
    START_TIME: a.call ? a.call.startTime : '',
    END_TIME: a.call ? a.call.endTime : '',
    SETTINGS: a.call?.missed ? { MISSED_CALL: true } : [],
  };
}

export const crmMiscMethods: Record<string, MethodDef> = {
  'crm.timeline.comment.list': { scope: 'crm', handler: timelineCommentList },
  'crm.activity.list': { scope: 'crm', handler: activityList },
  'crm.status.list': { scope: 'crm', handler: statusList },
  'crm.category.list': { scope: 'crm', handler: categoryList },
  'crm.lead.userfield.list': { scope: 'crm', handler: leadUserfieldList },
  'crm.duplicate.findbycomm': { scope: 'crm', handler: findByComm },
  'crm.timeline.comment.add': { scope: 'crm', handler: timelineCommentAdd },
  'crm.activity.todo.add': { scope: 'crm', handler: activityTodoAdd },
  // dev.1c-bitrix.ru rest_help/crm/mode/crm_settings_mode_get: 1 classic (with leads), 2 without leads
  'crm.settings.mode.get': { scope: 'crm', handler: (_p, ctx) => (telephonyOf(ctx.portal).settings.crmMode === 'simple' ? 2 : 1) },
};
