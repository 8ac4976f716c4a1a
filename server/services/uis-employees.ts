import type { UisLink } from '../domain/uis-link';
import { dataApiAll, type DataApiClient } from '../uis/data-api';
import type { WorkspaceDataApi } from './workspace-ports';

type Row = Record<string, unknown>;

/**
 * The one place that reads a UIS account's employees (Data API `get.employees`,
 * docs/facts/uis.md#data-api-methods, docs/facts/telephony.md#calls-report): the employee sync, the
 * operator lookups (workspace, new chats, the bridge's replies, the connector's default operator),
 * the settings lists (analytics and chat sources, telephony) and the personal-manager numbers all
 * read them here, page by page, as one typed record.
 *
 * Cache policy: none here — every read asks UIS (one Data API point per page of 1,000). The callers
 * that must see a change at once do: the sync right after `create.employees`, the validation of a
 * default operator, a new chat after an e-mail was fixed in UIS. Callers that answer often keep
 * their *answer* instead (`findOperator` and `bitrixUserOfEmployee`: 10 minutes per portal and
 * user; the personal-manager map: re-read by its upkeep), so a list is never stale behind a cache
 * nobody can see.
 */
export const UIS_EMPLOYEE_FIELDS = ['id', 'full_name', 'first_name', 'last_name', 'email', 'status', 'status_id', 'extension', 'operator', 'phone_numbers', 'groups'] as const;

export interface UisEmployeeRecord {
  id: number;
  /** `full_name` as UIS gives it; null when absent */
  fullName: string | null;
  firstName: string;
  lastName: string;
  /** the e-mail as UIS gives it (may be ""), null when absent */
  email: string | null;
  /** `extension.extension_phone_number`, null when none */
  extension: string | null;
  /** `status` mnemonic, null when absent */
  status: string | null;
  statusId: number | null;
  /** `operator.operator_chat_enabled` is not false */
  chatEnabled: boolean;
  /** the numbers UIS rings for the employee, as digits (see employeeNumbers) */
  phones: string[];
  /** `groups[]` as {id, name} */
  groups: Array<{ id: number; name: string }>;
}

const PAGE = 1000;
const str = (v: unknown): string => (typeof v === 'string' ? v : v === null || v === undefined ? '' : String(v));

/**
 * The numbers UIS rings for an employee: `phone_numbers[]` (SIP lines are listed there too), the
 * active ones in their order; without any, the extension — as the digit strings the interactive
 * answer's `phones` takes.
 */
export function employeeNumbers(r: Row): string[] {
  const active = (Array.isArray(r.phone_numbers) ? (r.phone_numbers as Row[]) : [])
    .filter((p) => p && (p.status === undefined || p.status === 'active'))
    .map((p) => String(p.phone_number ?? '').replace(/\D+/g, ''))
    .filter((p) => p.length > 0);
  if (active.length) return [...new Set(active)];
  const ext = r.extension && typeof r.extension === 'object' ? String((r.extension as Row).extension_phone_number ?? '').replace(/\D+/g, '') : '';
  return ext ? [ext] : [];
}

export function toUisEmployee(r: Row): UisEmployeeRecord {
  return {
    id: Number(r.id),
    fullName: r.full_name === null || r.full_name === undefined ? null : String(r.full_name),
    firstName: str(r.first_name),
    lastName: str(r.last_name),
    email: typeof r.email === 'string' ? r.email : null,
    extension: r.extension && typeof r.extension === 'object' ? str((r.extension as Row).extension_phone_number) || null : null,
    status: r.status ? str(r.status) : null,
    statusId: r.status_id === null || r.status_id === undefined ? null : Number(r.status_id),
    chatEnabled: ((r.operator ?? {}) as Row).operator_chat_enabled !== false,
    phones: employeeNumbers(r),
    groups: (Array.isArray(r.groups) ? (r.groups as Row[]) : []).flatMap((g) => (g && g.group_id !== undefined ? [{ id: Number(g.group_id), name: str(g.group_name ?? g.group_id) }] : [])),
  };
}

/** Every employee of the account, page by page. UIS failures are thrown as they come (the caller words them). */
export async function readUisEmployees(api: DataApiClient): Promise<UisEmployeeRecord[]> {
  const rows = await dataApiAll<Row>(api, 'get.employees', { fields: [...UIS_EMPLOYEE_FIELDS] }, PAGE);
  return rows.map(toUisEmployee);
}

/** The same through the workspace's Data API port (a linked account). */
export function readLinkEmployees(dataApi: WorkspaceDataApi, link: UisLink): Promise<UisEmployeeRecord[]> {
  return readUisEmployees({ call: async <T>(method: string, params?: Record<string, unknown>) => ({ data: await dataApi.call<T>(link, method, params), limits: null }) });
}
