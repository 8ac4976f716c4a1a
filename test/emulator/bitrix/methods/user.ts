/**
 * user.get and im.notify.system.add (docs/facts/bitrix24.md#users-notifications).
 * user.get: `FILTER` (or filter keys at top level), `sort`/`order`, paging by 50 with `total`;
 * fired users are listed unless ACTIVE is filtered; system users (EXTERNAL_AUTH_ID=rest_system)
 * and the open-line chat users are never returned; ACTIVE is a boolean, ID a string.
 */
import { RestError } from '../errors';
import { isoDate, isRecord, phpInt, phpString, upperKeys, type Params } from '../php';
import type { DirectoryUser } from '../crm/types';
import { page, type MethodDef, type RestCtx } from './registry';

const REGISTERED = Date.UTC(2024, 0, 10, 6, 0, 0);

function userRow(u: DirectoryUser, now: number): Params {
  return {
    ID: String(u.id),
    XML_ID: '',
    ACTIVE: u.active,
    NAME: u.name,
    LAST_NAME: u.lastName,
    SECOND_NAME: '',
    EMAIL: u.email,
    LAST_LOGIN: u.active ? isoDate(now) : isoDate(REGISTERED),
    DATE_REGISTER: isoDate(REGISTERED),
    TIME_ZONE: '',
    IS_ONLINE: u.active && u.id <= 2 ? 'Y' : 'N',
    TIMESTAMP_X: isoDate(REGISTERED),
    LAST_ACTIVITY_DATE: isoDate(now),
    PERSONAL_GENDER: '',
    PERSONAL_BIRTHDAY: '',
    WORK_POSITION: u.workPosition,
    UF_DEPARTMENT: u.department,
    PERSONAL_MOBILE: u.personalMobile ?? '',
    WORK_PHONE: u.workPhone ?? '',
    UF_PHONE_INNER: u.phoneInner ?? null,
    USER_TYPE: 'employee',
  };
}

const truthy = (v: unknown): boolean => v === true || ['Y', '1', 'true'].includes(phpString(v));

function matches(u: DirectoryUser, row: Params, filter: Params): boolean {
  for (const [rawKey, want] of Object.entries(filter)) {
    const key = rawKey.replace(/^[=%!]+/, '').toUpperCase();
    const negate = rawKey.startsWith('!');
    let ok: boolean;
    if (key === 'ACTIVE') ok = u.active === truthy(want);
    else if (key === 'ID') ok = (Array.isArray(want) ? want : [want]).map((x) => phpInt(x)).includes(u.id);
    else if (key === 'UF_DEPARTMENT') ok = (Array.isArray(want) ? want : [want]).some((d) => u.department.includes(phpInt(d)));
    else if (key === 'FIND' || key === 'NAME_SEARCH') {
      const q = phpString(want).toLowerCase();
      ok = [u.name, u.lastName, u.email].some((s) => s.toLowerCase().includes(q));
    } else if (key in row) {
      const have = phpString(row[key]).toLowerCase();
      ok = rawKey.startsWith('%') ? have.includes(phpString(want).toLowerCase()) : have === phpString(want).toLowerCase();
    } else ok = true; // unknown keys are ignored
    if (ok === negate) return false;
  }
  return true;
}

function userGet(p: Params, ctx: RestCtx) {
  const q = upperKeys(p);
  const now = ctx.portal.shared.clock.now();
  const control = new Set(['SORT', 'ORDER', 'FILTER', 'ADMIN_MODE', 'SELECT', 'START']);
  const filter: Params = isRecord(q.FILTER) ? q.FILTER : Object.fromEntries(Object.entries(p).filter(([k]) => !control.has(k.toUpperCase())));
  const sort = phpString(q.SORT).toUpperCase() || 'ID';
  const dir = phpString(q.ORDER).toUpperCase() === 'DESC' ? -1 : 1;
  const rows = ctx.portal.crm.directory.users
    .filter((u) => u.externalAuthId === '')
    .map((u) => ({ u, row: userRow(u, now) }))
    .filter(({ u, row }) => matches(u, row, filter))
    .sort((a, b) => {
      const x = a.row[sort];
      const y = b.row[sort];
      const c = sort === 'ID' ? Number(x) - Number(y) : phpString(x).localeCompare(phpString(y));
      return c * dir || a.u.id - b.u.id;
    })
    .map(({ row }) => row);
  return page(rows, Math.max(0, ctx.start));
}

/**
 * im.user.list.get (scope im): `ID` (array) → an object keyed by each id: the user block, or null
 * for an unknown id; no ID = the calling user. `status` (online/dnd/away), `idle` and `absent` are
 * ATOM dates or false; `last_activity_date` ATOM.
 */
function imUserListGet(p: Params, ctx: RestCtx): Record<string, Params | null> {
  const q = upperKeys(p);
  const raw = q.ID === undefined ? [ctx.user.id] : Array.isArray(q.ID) ? q.ID : isRecord(q.ID) ? Object.values(q.ID) : [q.ID];
  const ids = raw.map((x) => phpInt(x));
  if (ids.some((id) => !(id > 0))) throw new RestError('INVALID_FORMAT', 'A wrong format for the ID field is passed');
  const now = ctx.portal.shared.clock.now();
  const out: Record<string, Params | null> = {};
  for (const id of ids) {
    const u = ctx.portal.crm.directory.users.find((x) => x.id === id && x.externalAuthId === '');
    if (!u) {
      out[String(id)] = null;
      continue;
    }
    const pr = u.presence ?? {};
    const last = pr.lastActivity === undefined ? now : pr.lastActivity;
    out[String(id)] = {
      id: u.id,
      active: u.active,
      name: `${u.name} ${u.lastName}`.trim(),
      first_name: u.name,
      last_name: u.lastName,
      work_position: u.workPosition,
      color: '#df532d',
      avatar: '',
      gender: 'M',
      birthday: '',
      extranet: false,
      network: false,
      bot: false,
      connector: false,
      external_auth_id: 'default',
      status: pr.status ?? 'online',
      idle: pr.idleSince ? isoDate(pr.idleSince) : false,
      last_activity_date: last === null ? false : isoDate(last),
      desktop_last_date: false,
      mobile_last_date: false,
      departments: u.department,
      absent: pr.absentUntil ? isoDate(pr.absentUntil) : false,
      phones: { work_phone: '', personal_mobile: '', personal_phone: '' },
    };
  }
  return out;
}

/** im.notify.system.add: USER_ID*, MESSAGE* → notification id; a repeated TAG replaces. */
function notifySystemAdd(p: Params, ctx: RestCtx): number {
  const q = upperKeys(p);
  const userId = phpInt(q.USER_ID);
  if (userId <= 0) throw new RestError('USER_ID_EMPTY', "User ID can't be empty");
  const message = phpString(q.MESSAGE);
  if (message.trim() === '') throw new RestError('MESSAGE_EMPTY', "Message can't be empty");
  if (q.ATTACH !== undefined && JSON.stringify(q.ATTACH).length > 60000) {
    throw new RestError('ATTACH_OVERSIZE', 'You have exceeded the maximum allowable size of attach');
  }
  if (!ctx.portal.crm.directory.users.some((u) => u.id === userId)) throw new RestError('USER_ID_EMPTY', "User ID can't be empty");
  const tag = phpString(q.TAG);
  return ctx.portal.crm.notify({
    userId,
    message,
    messageOut: phpString(q.MESSAGE_OUT),
    tag,
    subTag: phpString(q.SUB_TAG),
    fromApp: ctx.portal.shared.app.clientId,
  }).id;
}

export const userMethods: Record<string, MethodDef> = {
  'user.get': { scope: ['user', 'user_brief', 'user_basic'], handler: userGet },
  'im.notify.system.add': { scope: 'im', handler: notifySystemAdd },
  'im.user.list.get': { scope: 'im', handler: imUserListGet },
};

