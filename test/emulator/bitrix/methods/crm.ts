/**
 * Legacy CRM entity methods crm.{lead,deal,contact,company}.{add,get,list,update,delete,fields} and
 * crm.deal.contact.items.get, as CCrmRestProxyBase::processMethodRequest runs them
 * (docs/facts/bitrix24.md#crm-lead, docs/facts/bitrix24.md#crm-deals-contacts; crm/classes/general/restservice.php):
 * - `fields`/`order`/`filter`/`select`/`params` are looked up as lower- or upper-case keys and
 *   must be arrays ("Parameter 'fields' must be array.");
 * - `id` must be a positive integer ("ID is not defined or invalid.");
 * - failures are RestException with an empty code and HTTP 400;
 * - lists page by 50 from `start` rounded down to a page; `start=-1` skips counting.
 */
import { crmError, type Actor } from '../crm/store';
import { compileFilter, sortEntities } from '../crm/filter';
import { ENTITY_MULTIFIELDS, FIELDS } from '../crm/fields';
import type { EntityType } from '../crm/types';
import { isRecord, phpEntries, phpInt, phpString, type Params } from '../php';
import { ListResult, PAGE_SIZE, type MethodDef, type RestCtx } from './registry';

/** CCrmRestHelper::resolveParam: `name`, then `NAME`. */
export function crmParam(p: Params, name: string): unknown {
  return p[name] ?? p[name.toUpperCase()] ?? p[name.toLowerCase()];
}

export function crmArrayParam(p: Params, name: string): Params {
  const v = crmParam(p, name);
  if (v === undefined || v === null) return {};
  if (Array.isArray(v)) return Object.fromEntries(v.map((x, i) => [String(i), x]));
  if (!isRecord(v)) throw crmError(`Parameter '${name}' must be array.`);
  return v;
}

export function entityId(p: Params): number {
  const id = phpInt(crmParam(p, 'id'));
  if (id <= 0) throw crmError('ID is not defined or invalid.');
  return id;
}

export const actorOf = (ctx: RestCtx): Actor => ({ id: ctx.user.id, admin: ctx.user.admin });

const NOUN: Record<EntityType, string> = { LEAD: 'лида', DEAL: 'сделки', CONTACT: 'контакта', COMPANY: 'компании' };

/**
 * `params[REGISTER_SONET_EVENT]=Y`: the add is registered in the live feed and the responsible is
 * notified (docs/facts/bitrix24.md#crm-events); nobody is notified of their own entity. A system notification,
 * not an app's (no TAG).
 */
function registerSonetEvent(type: EntityType, p: Params, e: { id: number; fields: Record<string, string | null> }, ctx: RestCtx): void {
  if (phpString(crmArrayParam(p, 'params').REGISTER_SONET_EVENT).toUpperCase() !== 'Y') return;
  const responsible = Number(e.fields.ASSIGNED_BY_ID);
  if (!responsible || responsible === ctx.user.id) return;
  const name = e.fields.TITLE ?? [e.fields.NAME, e.fields.LAST_NAME].filter(Boolean).join(' ');
  ctx.portal.crm.notify({
    userId: responsible,
    message: `Вы назначены ответственным ${NOUN[type]} «${name ?? e.id}»`,
    messageOut: '',
    tag: '',
    subTag: '',
    fromApp: '',
  });
}

function add(type: EntityType) {
  return (p: Params, ctx: RestCtx): number => {
    const fields = crmArrayParam(p, 'fields');
    const e = ctx.portal.crm.add(type, fields, actorOf(ctx), ctx.user.id);
    registerSonetEvent(type, p, e, ctx);
    return e.id;
  };
}

function get(type: EntityType) {
  return (p: Params, ctx: RestCtx): Params => {
    const crm = ctx.portal.crm;
    return crm.toGet(crm.readable(actorOf(ctx), type, entityId(p)));
  };
}

function update(type: EntityType) {
  return (p: Params, ctx: RestCtx): true => {
    const id = entityId(p);
    const fields = crmArrayParam(p, 'fields');
    crmArrayParam(p, 'params');
    return ctx.portal.crm.update(type, id, fields, actorOf(ctx), ctx.user.id);
  };
}

function remove(type: EntityType) {
  return (p: Params, ctx: RestCtx): true => ctx.portal.crm.delete(type, entityId(p), actorOf(ctx), ctx.user.id);
}

function list(type: EntityType) {
  return (p: Params, ctx: RestCtx): ListResult => {
    const order = crmArrayParam(p, 'order');
    const filter = crmArrayParam(p, 'filter');
    const select = phpEntries(crmArrayParam(p, 'select')).map(([, v]) => phpString(v));
    const crm = ctx.portal.crm;
    const rows = sortEntities(crm.visible(actorOf(ctx), type).filter(compileFilter(type, filter)), order);
    const map = (r: (typeof rows)[number]) => crm.toList(r, select);
    if (ctx.start < 0) return new ListResult(rows.slice(0, PAGE_SIZE).map(map));
    // [SRC] getNavData turns start into a page number: floor(start / 50) + 1
    const offset = Math.floor(ctx.start / PAGE_SIZE) * PAGE_SIZE;
    const slice = rows.slice(offset, offset + PAGE_SIZE).map(map);
    const next = offset + PAGE_SIZE < rows.length ? offset + PAGE_SIZE : undefined;
    return new ListResult(slice, rows.length, next);
  };
}

/** crm.*.fields: descriptions keyed by field name (CCrmRestProxyBase::prepareFields). */
function fields(type: EntityType) {
  return (_p: Params, ctx: RestCtx): Params => {
    const out: Params = {};
    for (const d of FIELDS[type]) {
      out[d.name] = {
        type: d.type,
        isRequired: d.required === true,
        isReadOnly: d.ro === true,
        isImmutable: d.immutable === true,
        isMultiple: false,
        isDynamic: false,
        title: d.title,
        ...(d.statusType ? { statusType: d.statusType } : {}),
      };
    }
    for (const t of ENTITY_MULTIFIELDS[type]) {
      out[t] = { type: 'crm_multifield', isRequired: false, isReadOnly: false, isImmutable: false, isMultiple: true, isDynamic: false, title: t };
    }
    if (type === 'LEAD') {
      for (const uf of ctx.portal.crm.directory.leadUserFields) {
        out[uf.FIELD_NAME] = {
          type: uf.USER_TYPE_ID,
          isRequired: uf.MANDATORY === 'Y',
          isReadOnly: false,
          isImmutable: false,
          isMultiple: uf.MULTIPLE === 'Y',
          isDynamic: true,
          title: uf.FIELD_NAME,
          listLabel: uf.LIST_COLUMN_LABEL,
          formLabel: uf.EDIT_FORM_LABEL,
          filterLabel: uf.LIST_COLUMN_LABEL,
          settings: uf.SETTINGS,
        };
      }
    }
    return out;
  };
}

/** crm.deal.contact.items.get: the deal's contact bindings, first one primary. */
function dealContacts(p: Params, ctx: RestCtx): Params[] {
  const deal = ctx.portal.crm.readable(actorOf(ctx), 'DEAL', entityId(p));
  return deal.contactIds.map((id, i) => ({ CONTACT_ID: id, SORT: (i + 1) * 10, ROLE_ID: 0, IS_PRIMARY: i === 0 ? 'Y' : 'N' }));
}

const crud = (type: EntityType, name: string, ops: ReadonlyArray<'add' | 'get' | 'list' | 'update' | 'delete' | 'fields'>) => {
  const makers = { add, get, list, update, delete: remove, fields };
  return Object.fromEntries(ops.map((op) => [`crm.${name}.${op}`, { scope: 'crm', handler: makers[op](type) } satisfies MethodDef]));
};

export const crmMethods: Record<string, MethodDef> = {
  ...crud('LEAD', 'lead', ['add', 'get', 'list', 'update', 'delete', 'fields']),
  ...crud('DEAL', 'deal', ['add', 'get', 'list', 'update', 'delete', 'fields']),
  ...crud('CONTACT', 'contact', ['add', 'get', 'list', 'update', 'delete', 'fields']),
  ...crud('COMPANY', 'company', ['add', 'get', 'list', 'update', 'delete', 'fields']),
  'crm.deal.contact.items.get': { scope: 'crm', handler: dealContacts },
};
