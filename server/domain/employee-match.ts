/**
 * Pairing Bitrix24 users with UIS employees (no I/O). First by e-mail (case-insensitive, trimmed),
 * then by the internal number — the user's UF_PHONE_INNER equal to the employee's extension, when
 * exactly one of each has it (what the telephony's calls are matched by) — then by first + last name (case-insensitive, «ё» = «е», spaces collapsed) when exactly one user
 * and one employee share it. A Bitrix24 user without «Фамилия» is reported (seed 001: every
 * employee needs it) and never matched by name; an e-mail still pairs them.
 */
export interface B24User {
  id: number;
  firstName: string;
  lastName: string;
  email: string;
  /** UF_PHONE_INNER, the internal number */
  inner?: string | null;
}

export interface UisEmployee {
  id: number;
  firstName: string;
  lastName: string;
  email: string | null;
  /** get.employees `extension.extension_phone_number` */
  extension?: string | null;
}

export interface EmployeePair {
  b24: B24User;
  uis: UisEmployee;
  by: 'email' | 'extension' | 'name';
}

export interface EmployeeMatch {
  pairs: EmployeePair[];
  /** Users with a last name and no match: candidates for a new UIS employee. */
  unmatched: B24User[];
  /** Users sharing their name with other users or employees, left unmatched rather than guessed. */
  ambiguous: B24User[];
  /** Users without a last name (matched by e-mail or not: they are always reported). */
  noLastName: B24User[];
  unmatchedUis: UisEmployee[];
}

/** `user.get` FILTER for the portal's people (extranet users have another USER_TYPE). */
export const EMPLOYEE_FILTER = { ACTIVE: true, USER_TYPE: 'employee' } as const;

/** A `user.get` row is one of the portal's active employees: active and in a department (invited guests have none). */
export function isActiveEmployee(r: Record<string, unknown>): boolean {
  const active = r.ACTIVE === true || r.ACTIVE === 'Y' || r.ACTIVE === '1' || r.ACTIVE === 1;
  return active && Array.isArray(r.UF_DEPARTMENT) && r.UF_DEPARTMENT.length > 0;
}

export const normEmail = (s: string | null | undefined): string => (s ?? '').trim().toLowerCase();
const normName = (s: string): string => s.trim().toLowerCase().replace(/ё/g, 'е').replace(/\s+/g, ' ');
const nameKey = (first: string, last: string): string => `${normName(first)}|${normName(last)}`;
export const hasLastName = (u: { lastName: string }): boolean => u.lastName.trim() !== '';

export function matchEmployees(users: B24User[], employees: UisEmployee[]): EmployeeMatch {
  const b24 = [...users].sort((a, b) => a.id - b.id);
  const uis = [...employees].sort((a, b) => a.id - b.id);
  const pairs: EmployeePair[] = [];
  const takenUis = new Set<number>();
  const takenB24 = new Set<number>();

  const byEmail = new Map<string, UisEmployee>();
  for (const e of uis) {
    const k = normEmail(e.email);
    if (k && !byEmail.has(k)) byEmail.set(k, e);
  }
  for (const u of b24) {
    const e = byEmail.get(normEmail(u.email));
    if (!normEmail(u.email) || !e || takenUis.has(e.id)) continue;
    pairs.push({ b24: u, uis: e, by: 'email' });
    takenUis.add(e.id);
    takenB24.add(u.id);
  }

  // the internal number: unique on both sides (a number two people share pairs nobody)
  const inner = (v: string | null | undefined) => (v ?? '').replace(/\D+/g, '');
  const count = <T>(xs: T[], key: (x: T) => string) => xs.reduce((m, x) => (key(x) ? m.set(key(x), (m.get(key(x)) ?? 0) + 1) : m), new Map<string, number>());
  const userInners = count(b24, (u) => inner(u.inner));
  const uisExts = count(uis, (e) => inner(e.extension));
  for (const u of b24) {
    const k = inner(u.inner);
    if (!k || takenB24.has(u.id) || userInners.get(k) !== 1 || uisExts.get(k) !== 1) continue;
    const e = uis.find((x) => inner(x.extension) === k)!;
    if (takenUis.has(e.id)) continue;
    pairs.push({ b24: u, uis: e, by: 'extension' });
    takenUis.add(e.id);
    takenB24.add(u.id);
  }

  const ambiguous: B24User[] = [];
  const restUsers = b24.filter((u) => !takenB24.has(u.id) && hasLastName(u));
  const restUis = uis.filter((e) => !takenUis.has(e.id) && e.lastName.trim() !== '');
  const group = <T>(xs: T[], key: (x: T) => string) => {
    const m = new Map<string, T[]>();
    for (const x of xs) m.set(key(x), [...(m.get(key(x)) ?? []), x]);
    return m;
  };
  const usersByName = group(restUsers, (u) => nameKey(u.firstName, u.lastName));
  const uisByName = group(restUis, (e) => nameKey(e.firstName, e.lastName));
  for (const [k, us] of usersByName) {
    const es = uisByName.get(k) ?? [];
    if (us.length === 1 && es.length === 1) {
      pairs.push({ b24: us[0]!, uis: es[0]!, by: 'name' });
      takenUis.add(es[0]!.id);
      takenB24.add(us[0]!.id);
    } else if (es.length > 0) ambiguous.push(...us);
  }
  const ambiguousIds = new Set(ambiguous.map((u) => u.id));

  return {
    pairs: pairs.sort((a, b) => a.b24.id - b.b24.id),
    unmatched: b24.filter((u) => !takenB24.has(u.id) && hasLastName(u) && !ambiguousIds.has(u.id)),
    ambiguous: ambiguous.sort((a, b) => a.id - b.id),
    noLastName: b24.filter((u) => !hasLastName(u)),
    unmatchedUis: uis.filter((e) => !takenUis.has(e.id)),
  };
}

/** What a sync writes into a matched UIS employee: Bitrix24's names; the e-mail only where UIS has none. */
export function employeeUpdates(p: EmployeePair): { first_name?: string; last_name?: string; email?: string } {
  const out: { first_name?: string; last_name?: string; email?: string } = {};
  if (hasLastName(p.b24)) {
    if (p.b24.firstName.trim() && p.b24.firstName.trim() !== p.uis.firstName.trim()) out.first_name = p.b24.firstName.trim();
    if (p.b24.lastName.trim() !== p.uis.lastName.trim()) out.last_name = p.b24.lastName.trim();
  }
  if (!normEmail(p.uis.email) && normEmail(p.b24.email)) out.email = p.b24.email.trim();
  return out;
}

/** Data API status mnemonics (get.statuses `mnemonic`, get.employees `status`). */
export type UisStatusMnemonic = 'available' | 'break' | 'do_not_disturb' | 'not_at_workplace' | 'not_at_work' | 'auto_out_call' | 'unknown';

/** What Bitrix24 tells about a user (im.user.list.get, scope `im`). */
export interface B24Presence {
  active: boolean;
  /** `status` chosen in the messenger: `online`, `dnd`, `away`, … */
  status: string;
  /** Since when the user is away from the computer (ms), or null. */
  idleSince: number | null;
  /** Until when the user is absent per the absence chart (ms), or null. */
  absentUntil: number | null;
  /** Latest of last_activity_date / desktop_last_date / mobile_last_date (ms), or null. */
  lastSeen: number | null;
}

/** No activity for this long and the person is taken to be away from the workplace. */
export const OFFLINE_AFTER_MS = 30 * 60_000;

/**
 * The UIS status a Bitrix24 state maps to: fired or absent (vacation, sick leave) → «Нет на
 * работе»; «Не беспокоить» → do_not_disturb; away, idle or unseen for 30 minutes → «Нет на месте»;
 * otherwise «Доступен».
 */
export function uisStatusFor(p: B24Presence, now: number): UisStatusMnemonic {
  if (!p.active) return 'not_at_work';
  if (p.absentUntil !== null && p.absentUntil > now) return 'not_at_work';
  if (p.status === 'dnd') return 'do_not_disturb';
  if (p.status === 'away' || p.idleSince !== null) return 'not_at_workplace';
  if (p.lastSeen === null || now - p.lastSeen > OFFLINE_AFTER_MS) return 'not_at_workplace';
  return 'available';
}
