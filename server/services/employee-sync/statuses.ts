import type { StatusImportView } from '../../contracts/employee-sync';
import { uisStatusFor, type B24Presence } from '../../domain/employee-match';
import { AppError } from '../../domain/errors';
import { dataApiForLink } from '../../uis/data-api';
import { UisApiError } from '../../uis/errors';
import { readUisEmployees } from './read';
import { portalFailure, uisFailure } from '../workspace-errors';
import type { EmployeeSyncDeps } from './sync';

type Row = Record<string, unknown>;
const CHUNK = 50;

const atom = (v: unknown): number | null => {
  if (typeof v !== 'string' || !v) return null;
  const t = Date.parse(v);
  return Number.isFinite(t) ? t : null;
};

/** im.user.list.get's user block → what the status mapping needs. */
export function presenceOf(r: Row): B24Presence {
  const seen = [r.last_activity_date, r.desktop_last_date, r.mobile_last_date].map(atom).filter((t): t is number => t !== null);
  return {
    active: r.active !== false,
    status: typeof r.status === 'string' ? r.status : 'online',
    idleSince: atom(r.idle),
    absentUntil: atom(r.absent),
    lastSeen: seen.length ? Math.max(...seen) : null,
  };
}

/**
 * «Импорт статусов»: the synced Bitrix24 users' state → their UIS employees' status. Bitrix24 side:
 * `im.user.list.get {ID: […]}` (scope `im`, which the app has; `timeman.status` would need the
 * `timeman` scope): `absent` (absence chart), `status` (dnd/away), `idle`, last activity. UIS side:
 * `get.statuses` (status ids by mnemonic) and `update.employees {id, last_name, status_id}`
 * (`status` is deprecated in favour of `status_id`; `last_name` is marked required, so it is sent
 * unchanged). Only employees whose status differs are written, and only when the user's Bitrix24
 * state changed since the last import (a break an operator set in UIS stands until then); one on
 * an outbound dialling campaign (`auto_out_call`) is left alone.
 */
export async function importEmployeeStatuses(deps: EmployeeSyncDeps, memberId: string): Promise<StatusImportView> {
  const at = new Date(deps.clock.now()).toISOString();
  const link = await deps.links.get(memberId);
  if (!link) throw new AppError('UIS_NOT_LINKED', 'Link a UIS account on the «Главная» tab first', 409);
  const mappings = await deps.employeeSync.mappings(memberId);
  if (!mappings.length) return { at, updated: 0, unchanged: 0, error: 'No synced employees yet: run «Синхронизировать сотрудников» first' };

  const rest = deps.gateway.client(memberId);
  const presence = new Map<number, B24Presence>();
  for (let i = 0; i < mappings.length; i += CHUNK) {
    const ids = mappings.slice(i, i + CHUNK).map((m) => m.b24UserId);
    let result: Record<string, Row | null>;
    try {
      result = (await rest.call<Record<string, Row | null>>('im.user.list.get', { ID: ids })).result ?? {};
    } catch (e) {
      throw portalFailure(e, 'report the users’ state');
    }
    for (const [id, row] of Object.entries(result)) if (row) presence.set(Number(id), presenceOf(row));
  }

  const api = dataApiForLink(link, deps.uisEndpoints, deps.fetch);
  let statuses: Row[];
  try {
    statuses = (await api.call<Row[]>('get.statuses', { fields: ['id', 'mnemonic', 'is_deleted'] })).data ?? [];
  } catch (e) {
    throw uisFailure(e, 'UIS_DATA_API_REFUSED', 'UIS refused to list the employee statuses');
  }
  const statusId = new Map<string, number>();
  for (const s of statuses) if (typeof s.mnemonic === 'string' && s.is_deleted !== true) statusId.set(s.mnemonic, Number(s.id));
  const employees = new Map((await readUisEmployees(api)).map((e) => [e.id, e]));

  const now = deps.clock.now();
  let updated = 0;
  let unchanged = 0;
  const problems: string[] = [];
  for (const m of mappings) {
    const p = presence.get(m.b24UserId);
    const e = employees.get(m.uisEmployeeId);
    if (!p || !e || e.status === 'auto_out_call') continue;
    const want = uisStatusFor(p, now);
    // the Bitrix24 state has not changed since the last import: a status set in UIS meanwhile stands
    if ((await deps.employeeSync.importedStatus(memberId, m.b24UserId)) === want) {
      unchanged++;
      continue;
    }
    const target = statusId.get(want);
    if (target === undefined) {
      problems.push(`UIS has no status «${want}»`);
      continue;
    }
    if (e.statusId === target) {
      await deps.employeeSync.setImportedStatus(memberId, m.b24UserId, want);
      unchanged++;
      continue;
    }
    try {
      await api.call('update.employees', { id: e.id, last_name: e.lastName, status_id: target });
      await deps.employeeSync.setImportedStatus(memberId, m.b24UserId, want);
      updated++;
    } catch (err) {
      if (err instanceof UisApiError && err.transient) throw uisFailure(err, 'UIS_DATA_API_REFUSED', 'UIS refused to update employee statuses');
      problems.push(`UIS employee ${e.id}: ${err instanceof UisApiError ? err.code : (err as Error).message}`);
    }
  }
  return { at, updated, unchanged, error: problems.length ? [...new Set(problems)].join('; ') : null };
}
