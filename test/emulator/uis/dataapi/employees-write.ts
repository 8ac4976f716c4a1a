/**
 * Data API employee writes and statuses (docs data_api/employee/create_employees,
 * update_employees, get_statuses): create.employees (`last_name` required; answers `{id}`),
 * update.employees (`id` and `last_name` marked required; partial update; `status_id` from
 * get.statuses, `status` deprecated but accepted; answers an empty result) and the standard
 * statuses get.statuses lists. Errors: −32602 required_parameter_missed / data_type_error /
 * invalid_parameter_value / entity_not_found (create/update verbs' common list). Fields the
 * emulator does not model (phones, groups, coach, …) are accepted and ignored.
 */
import type { AccountImpl } from '../account';
import type { EmployeeStatus } from '../types';
import { rpc } from './errors';

type Row = Record<string, unknown>;

export const STANDARD_STATUSES: Array<{ id: number; mnemonic: EmployeeStatus; name: string; color: string; is_worktime: boolean }> = [
  { id: 1, mnemonic: 'available', name: 'Доступен', color: '#48b04b', is_worktime: true },
  { id: 2, mnemonic: 'break', name: 'Перерыв', color: '#ffb300', is_worktime: true },
  { id: 3, mnemonic: 'do_not_disturb', name: 'Не беспокоить', color: '#e53935', is_worktime: true },
  { id: 4, mnemonic: 'not_at_workplace', name: 'Нет на месте', color: '#8e24aa', is_worktime: true },
  { id: 5, mnemonic: 'not_at_work', name: 'Нет на работе', color: '#757575', is_worktime: false },
  { id: 6, mnemonic: 'unknown', name: 'Неизвестно', color: '#bdbdbd', is_worktime: false },
  { id: 7, mnemonic: 'auto_out_call', name: 'Исходящий обзвон', color: '#1e88e5', is_worktime: true },
];

export const STATUS_FIELDS = [
  'id', 'name', 'mnemonic', 'description', 'color', 'is_deleted', 'in_external_allowed_call_directions', 'in_internal_allowed_call_directions',
  'out_external_allowed_call_directions', 'out_internal_allowed_call_directions', 'allowed_phone_protocols', 'is_select_allowed', 'is_worktime', 'is_auto_out_calls_ready',
] as const;

export function statusRows(): Row[] {
  return STANDARD_STATUSES.map((s) => ({
    id: s.id,
    name: s.name,
    mnemonic: s.mnemonic,
    description: null,
    color: s.color,
    is_deleted: false,
    in_external_allowed_call_directions: s.mnemonic === 'available' ? ['in', 'out'] : ['out'],
    in_internal_allowed_call_directions: ['in', 'out'],
    out_external_allowed_call_directions: ['in', 'out'],
    out_internal_allowed_call_directions: ['in', 'out'],
    allowed_phone_protocols: ['PSTN', 'SIP', 'SIP_TRUNK', 'FMC'],
    is_select_allowed: s.mnemonic !== 'unknown',
    is_worktime: s.is_worktime,
    is_auto_out_calls_ready: s.mnemonic === 'auto_out_call',
  }));
}

const COMMON = [
  'first_name', 'last_name', 'patronymic', 'status', 'status_id', 'calls_available', 'allowed_in_call_types', 'in_external_allowed_call_directions',
  'in_internal_allowed_call_directions', 'allowed_out_call_types', 'out_external_allowed_call_directions', 'out_internal_allowed_call_directions', 'email',
  'call_recording', 'schedule_id', 'coach', 'groups', 'phone_numbers', 'extension', 'operator',
] as const;
export const CREATE_EMPLOYEE_PARAMS = COMMON;
export const UPDATE_EMPLOYEE_PARAMS = ['id', ...COMMON] as const;

const withoutToken = ({ access_token: _t, ...rest }: Row): Row => rest;

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

function str(params: Row, key: string, required: boolean): string | undefined {
  const v = params[key];
  if (v === undefined || v === null) {
    if (required) throw rpc.required(key);
    return undefined;
  }
  if (typeof v !== 'string') throw rpc.dataType(key, v);
  if (required && v.trim() === '') throw rpc.invalidValue(key, v);
  return v;
}

/** Names, e-mail and status, checked the way both verbs check them. */
function fields(params: Row, creating: boolean): { first_name?: string; last_name?: string; email?: string; status?: EmployeeStatus } {
  const first_name = str(params, 'first_name', false);
  const last_name = str(params, 'last_name', true);
  const email = str(params, 'email', false);
  if (email !== undefined && email !== '' && !EMAIL.test(email)) throw rpc.invalidValue('email', email);
  let status: EmployeeStatus | undefined;
  if (params.status_id !== undefined && params.status_id !== null) {
    if (creating) throw rpc.unexpected('status_id');
    if (typeof params.status_id !== 'number' || !Number.isInteger(params.status_id)) throw rpc.dataType('status_id', params.status_id);
    const s = STANDARD_STATUSES.find((x) => x.id === params.status_id);
    if (!s) throw rpc.notFound('status_id', params.status_id);
    status = s.mnemonic;
  } else if (params.status !== undefined && params.status !== null) {
    const s = STANDARD_STATUSES.find((x) => x.mnemonic === params.status && (!creating || x.mnemonic !== 'auto_out_call'));
    if (!s) throw rpc.invalidValue('status', params.status);
    status = s.mnemonic;
  }
  return { first_name, last_name, email, status };
}

export function createEmployee(account: AccountImpl, params: Row): { id: number } {
  const f = fields(params, true);
  const id = account.world.ids.take('employee');
  const first = f.first_name ?? '';
  const last = f.last_name!;
  account.employees.push({
    id,
    first_name: first,
    last_name: last,
    full_name: [last, first].filter(Boolean).join(' '),
    email: f.email ?? '',
    login: `employee${id}`,
    operator_chat_enabled: false,
    status: f.status ?? 'available',
  });
  account.employeeWrites.push({ method: 'create.employees', id, params: withoutToken(params) });
  return { id };
}

export function updateEmployee(account: AccountImpl, params: Row): undefined {
  if (params.id === undefined || params.id === null) throw rpc.required('id');
  if (typeof params.id !== 'number' || !Number.isInteger(params.id)) throw rpc.dataType('id', params.id);
  const e = account.employees.find((x) => x.id === params.id);
  if (!e) throw rpc.notFound('id', params.id);
  const f = fields(params, false);
  if (f.first_name !== undefined) e.first_name = f.first_name;
  if (f.last_name !== undefined) e.last_name = f.last_name;
  if (f.email !== undefined) e.email = f.email;
  if (f.status !== undefined) e.status = f.status;
  e.full_name = [e.last_name, e.first_name].filter(Boolean).join(' ');
  account.employeeWrites.push({ method: 'update.employees', id: e.id, params: withoutToken(params) });
  return undefined;
}
