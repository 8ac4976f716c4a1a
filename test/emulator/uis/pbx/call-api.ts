/**
 * Call API v4.0 (comagic.github.io call_api/index.html, create_call/start_employee_call,
 * create_call/start_simple_call, manage_call/release_call, authentication/login_user): JSON-RPC 2.0
 * over POST, no batches, no notifications; `access_token` (the account's API key or a login.user
 * session key) inside `params`; points charged for successful calls only; `metadata.limits` in
 * every answer for a known account (errors included). Error codes and mnemonics as the docs list
 * them («Список ошибок общих для всех методов» and each method's table).
 *
 * Chosen where the docs are silent: the order of the checks (token → IP allowlist → account →
 * component → limits → parameters), the mnemonic `call_direction_prohibited` (code −32002) for an
 * international number the security rules forbid, and −32008 `component_disabled` for a
 * `virtual_phone_usage_rule` other than `fixed` without «Автоматическое управление номерами».
 */
import express from 'express';
import type { AccountImpl } from '../account';
import { randomKey } from '../ids';
import type { World } from '../world';
import { digits, pbxOf, type Pbx } from './pbx';

type Json = Record<string, unknown>;

class CallApiError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly mnemonic: string,
    readonly field?: string,
    readonly value?: unknown,
  ) {
    super(message);
  }
}

const err = {
  parse: () => new CallApiError(-32700, 'Invalid JSON was received by the server.', 'parse_error'),
  invalidRequest: () => new CallApiError(-32600, 'Invalid Request The JSON sent is not a valid Request object', 'invalid_request'),
  batch: () => new CallApiError(-32099, 'Batch operations not supported', 'batch_opreations_not_supported'),
  notification: () => new CallApiError(-32099, 'Notifications not supported', 'notifications_not_supported'),
  methodNotFound: () => new CallApiError(-32601, 'The method does not exist / is not available', 'method_not_found'),
  tokenInvalid: () => new CallApiError(-32001, 'Access token is invalid', 'access_token_invalid'),
  authError: () => new CallApiError(-32001, 'Login or password is wrong', 'auth_error'),
  ip: (ip: string) => new CallApiError(-32003, `Your IP ${ip} is not whitelisted`, 'ip_not_whitelisted'),
  accountInactive: () => new CallApiError(-32009, 'Your account has been disabled, contact the support service', 'account_inactive'),
  component: (name: string) => new CallApiError(-32008, `Component ${name} has been disabled`, 'component_disabled'),
  limit: (type: 'day' | 'minute', max: number) =>
    new CallApiError(-32029, `Limit per ${type} has been exceeded. Value of current limit per ${type} is ${max}`, 'limit_exceeded'),
  required: (field: string) => new CallApiError(-32602, 'The required parameter has been missed', 'required_parameter_missed', field),
  invalid: (field: string, value?: unknown) => new CallApiError(-32602, 'Invalid parameter value', 'invalid_parameter_value', field, value),
  type: (field: string, value: unknown) => new CallApiError(-32602, 'Data supplied is of wrong type', 'data_type_error', field, value),
  unexpected: (field: string) => new CallApiError(-32602, 'Unexpected method parameter(s)', 'unexpected_parameters', field),
  combination: (field: string) => new CallApiError(-32602, 'The combination of parameters is not permitted', 'invalid_parameters_combination', field),
  vnNotFound: (n: string) => new CallApiError(-32007, `Virtual phone number ${n} not found. It is not your virtual phone number.`, 'virtual_phone_number_not_found', 'virtual_phone_number', n),
  employeeNotFound: (id: unknown) => new CallApiError(-32602, `Employee with id ${String(id)} not found. It is not your employee.`, 'employee_not_found', 'employee.id', id),
  noActivePhone: () => new CallApiError(-32602, 'The phone number does not exist or inactive', 'no_active_phone_number', 'employee.phone_number'),
  ownVn: () => new CallApiError(-32602, 'Parameter contact can not contain own virtual phone number', 'own_virtual_phone_number_not_allowed', 'contact'),
  blacklist: (c: string) => new CallApiError(-32002, `The contact ${c} has been found in the blacklist`, 'contact_in_blacklist', 'contact', c),
  direction: (c: string) => new CallApiError(-32002, `Calls to ${c} are forbidden by the security rules`, 'call_direction_prohibited', 'contact', c),
  media: (id: unknown) => new CallApiError(-32602, `The media file with id ${String(id)} not found`, 'media_file_not_found', 'media_file_id', id),
  tts: (max: number, len: number) => new CallApiError(-32602, `The maximum length of Text-to-Speech message is ${max}. The length of your message is ${len}`, 'tts_text_exceeded'),
  sessionNotFound: () => new CallApiError(-32602, 'Call session not found', 'call_session_not_found', 'call_session_id'),
};

/** Media files the emulated account has (the docs' examples use 2701 and 2561). */
const MEDIA_FILES = new Set([2701, 2561]);
const USAGE_RULES = ['fixed', 'fixed_for_numa', 'random', 'regional_random', 'regional_fixed_for_numa'];

function isRecord(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(p: Json, k: string, required: boolean): string | undefined {
  const v = p[k];
  if (v === undefined || v === null) {
    if (required) throw err.required(k);
    return undefined;
  }
  if (typeof v !== 'string') throw err.type(k, v);
  if (required && v === '') throw err.required(k);
  return v;
}

function bool(p: Json, k: string): boolean | undefined {
  const v = p[k];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw err.type(k, v);
  return v;
}

function message(pbx: Pbx, p: Json, k: string): void {
  const m = p[k];
  if (m === undefined || m === null) return;
  if (!isRecord(m)) throw err.type(k, m);
  for (const key of Object.keys(m)) if (key !== 'type' && key !== 'value') throw err.unexpected(`${k}.${key}`);
  if (m.type === undefined) throw err.required(`${k}.type`);
  if (m.value === undefined) throw err.required(`${k}.value`);
  if (m.type !== 'media' && m.type !== 'tts') throw err.invalid(`${k}.type`, m.type);
  if (typeof m.value !== 'string') throw err.type(`${k}.value`, m.value);
  if (m.type === 'tts' && m.value.length > pbx.callApi.ttsMaxLength) throw err.tts(pbx.callApi.ttsMaxLength, m.value.length);
  if (m.type === 'media' && !MEDIA_FILES.has(Number(m.value))) throw err.media(m.value);
}

/** `contact`: E.164 digits or an employee's SIP number; own virtual numbers, blacklist and direction rules apply. */
function checkContact(pbx: Pbx, raw: string): string {
  if (!/^\d{3,15}$/.test(raw)) throw err.invalid('contact', raw);
  if (pbx.virtualNumber(raw)) throw err.ownVn();
  if (pbx.callApi.blacklist.has(raw)) throw err.blacklist(raw);
  const sip = pbx.sipLines.some((l) => l.phone_number === raw);
  if (!sip && !raw.startsWith(pbx.callApi.countryCode) && !pbx.callApi.internationalAllowed) throw err.direction(raw);
  return raw;
}

function common(pbx: Pbx, p: Json, allowed: string[]): { vn: string; contact: string; direction: 'in' | 'out'; externalId: string | null } {
  for (const k of Object.keys(p)) if (k !== 'access_token' && !allowed.includes(k)) throw err.unexpected(k);
  const vnRaw = str(p, 'virtual_phone_number', true)!;
  const contactRaw = str(p, 'contact', true)!;
  const direction = str(p, 'direction', false) ?? 'in'; // "Значение по умолчанию in"
  if (direction !== 'in' && direction !== 'out') throw err.invalid('direction', direction);
  const externalId = str(p, 'external_id', false) ?? null;
  const switchAtOnce = bool(p, 'switch_at_once') ?? false;
  const early = bool(p, 'early_switching') ?? false;
  bool(p, 'show_virtual_phone_number');
  const first = p.first_call;
  if (early && !((first === 'employee' || first === 'operator') && switchAtOnce)) throw err.combination('early_switching');
  const rule = str(p, 'virtual_phone_usage_rule', false) ?? 'fixed';
  if (!USAGE_RULES.includes(rule)) throw err.invalid('virtual_phone_usage_rule', rule);
  if (rule !== 'fixed' && !pbx.callApi.autoNumberManagement) throw err.component('Автоматическое управление номерами');
  const dtmf = str(p, 'dtmf_string', false);
  if (dtmf !== undefined && !/^[0-9*#.]*$/.test(dtmf)) throw err.invalid('dtmf_string', dtmf);
  if (p.media_file_id !== undefined && p.media_file_id !== null) {
    if (typeof p.media_file_id !== 'number') throw err.type('media_file_id', p.media_file_id);
    if (!MEDIA_FILES.has(p.media_file_id)) throw err.media(p.media_file_id);
  }
  const vn = digits(vnRaw);
  if (!pbx.virtualNumber(vnRaw) || vn !== vnRaw) throw err.vnNotFound(vnRaw);
  const contact = checkContact(pbx, contactRaw);
  message(pbx, p, 'contact_message');
  return { vn, contact, direction, externalId };
}

function startEmployeeCall(pbx: Pbx, p: Json): Json {
  const allowed = ['first_call', 'switch_at_once', 'early_switching', 'media_file_id', 'virtual_phone_number', 'virtual_phone_usage_rule', 'show_virtual_phone_number', 'contact', 'external_id', 'dtmf_string', 'direction', 'employee', 'contact_message', 'employee_message'];
  const first = str(p, 'first_call', true)!;
  if (first !== 'employee' && first !== 'contact') throw err.invalid('first_call', first);
  if (p.employee === undefined || p.employee === null) throw err.required('employee');
  const c = common(pbx, p, allowed);
  const e = p.employee;
  if (!isRecord(e)) throw err.type('employee', e);
  for (const k of Object.keys(e)) if (k !== 'id' && k !== 'phone_number') throw err.unexpected(`employee.${k}`);
  if (e.id === undefined || e.id === null) throw err.required('employee.id');
  if (typeof e.id !== 'number' || !Number.isInteger(e.id)) throw err.type('employee.id', e.id);
  if (!pbx.employee(e.id)) throw err.employeeNotFound(e.id);
  message(pbx, p, 'employee_message');
  let phone: string | null = null;
  if (e.phone_number !== undefined && e.phone_number !== null) {
    if (typeof e.phone_number !== 'string') throw err.type('employee.phone_number', e.phone_number);
    const want = digits(e.phone_number);
    const t = pbx.telephonyOf(e.id);
    const own = pbx.activePhones(e.id).find((x) => digits(x.phone_number) === want) ?? (t.extension === want ? { phone_number: want } : undefined);
    if (!own) throw err.noActivePhone();
    phone = own.phone_number;
  } else if (pbx.activePhones(e.id).length === 0) {
    throw err.noActivePhone();
  }
  const s = pbx.startCallApi({ method: 'start.employee_call', firstCall: first, employeeId: e.id, employeePhone: phone, operatorNumber: null, contact: c.contact, virtualNumber: c.vn, direction: c.direction, externalId: c.externalId });
  return { call_session_id: s.id };
}

function startSimpleCall(pbx: Pbx, p: Json): Json {
  const allowed = ['first_call', 'switch_at_once', 'early_switching', 'media_file_id', 'virtual_phone_number', 'virtual_phone_usage_rule', 'show_virtual_phone_number', 'contact', 'external_id', 'dtmf_string', 'direction', 'operator', 'operator_confirmation', 'contact_message', 'operator_message'];
  const first = str(p, 'first_call', true)!;
  if (first !== 'operator' && first !== 'contact') throw err.invalid('first_call', first);
  const operator = str(p, 'operator', true)!;
  const c = common(pbx, p, allowed);
  if (!/^\d{3,15}$/.test(operator)) throw err.invalid('operator', operator);
  const conf = str(p, 'operator_confirmation', false);
  if (conf !== undefined && !/^([0-9*#]|any)$/.test(conf)) throw err.invalid('operator_confirmation', conf);
  message(pbx, p, 'operator_message');
  const s = pbx.startCallApi({ method: 'start.simple_call', firstCall: first, employeeId: null, employeePhone: null, operatorNumber: operator, contact: c.contact, virtualNumber: c.vn, direction: c.direction, externalId: c.externalId });
  return { call_session_id: s.id };
}

function releaseCall(pbx: Pbx, p: Json): Json {
  for (const k of Object.keys(p)) if (k !== 'access_token' && k !== 'call_session_id') throw err.unexpected(k);
  const id = p.call_session_id;
  if (id === undefined || id === null) throw err.required('call_session_id');
  if (typeof id !== 'number' || !Number.isInteger(id)) throw err.type('call_session_id', id);
  const s = pbx.session(id);
  if (!s || s.state === 'ended') throw err.sessionNotFound();
  pbx.release(s);
  return { success: 'true' }; // the docs' example answers the string "true"
}

const METHODS: Record<string, (pbx: Pbx, p: Json) => Json> = {
  'start.employee_call': startEmployeeCall,
  'start.simple_call': startSimpleCall,
  'release.call': releaseCall,
};

function findAccount(world: World, token: unknown): AccountImpl {
  if (token === undefined || token === null || token === '') throw err.required('access_token');
  if (typeof token !== 'string') throw err.tokenInvalid();
  const now = world.clock.now();
  for (const a of world.accounts) {
    if (a.dataApiToken === token) return a;
    const exp = a.sessionKeys.get(token);
    if (exp !== undefined && exp > now) return a;
  }
  throw err.tokenInvalid();
}

export function callApiRouter(world: World): express.Router {
  const router = express.Router();
  router.post('/', express.text({ type: () => true, limit: '1mb' }), (req, res) => {
    let id: unknown = null;
    let pbx: Pbx | undefined;
    let method = '';
    let params: Json = {};
    const reply = (body: Json) => res.json(body);
    try {
      let body: unknown;
      try {
        body = JSON.parse(typeof req.body === 'string' ? req.body : '');
      } catch {
        throw err.parse();
      }
      if (Array.isArray(body)) throw err.batch();
      if (!isRecord(body)) throw err.invalidRequest();
      if (!('id' in body)) throw err.notification();
      id = body.id;
      if ((typeof id !== 'string' && typeof id !== 'number') || body.jsonrpc !== '2.0' || typeof body.method !== 'string') throw err.invalidRequest();
      if (!isRecord(body.params)) throw err.invalidRequest();
      method = body.method;
      params = body.params;
      if (method === 'login.user') {
        for (const k of ['login', 'password']) if (typeof params[k] !== 'string' || params[k] === '') throw err.required(k);
        const a = world.accounts.find((x) => x.login === params.login && x.password === params.password);
        if (!a) throw err.authError();
        pbx = pbxOf(a);
        const key = randomKey(64);
        const expire = Math.floor(world.clock.now() / 1000) + 3600; // "Время жизни сессии по умолчанию 1 час"
        a.sessionKeys.set(key, expire * 1000);
        pbx.callApiBudget.charge();
        return reply({ jsonrpc: '2.0', id, result: { data: { access_token: key, expire_at: expire }, metadata: { limits: pbx.callApiBudget.view() } } });
      }
      if (method === 'logout.user') {
        const a = findAccount(world, params.access_token);
        pbx = pbxOf(a);
        a.sessionKeys.delete(String(params.access_token));
        return reply({ jsonrpc: '2.0', id, result: { data: { success: true }, metadata: { limits: pbx.callApiBudget.view() } } });
      }
      const run = METHODS[method];
      if (!run) throw err.methodNotFound();
      const account = findAccount(world, params.access_token);
      pbx = pbxOf(account);
      if (!pbx.callApi.ipWhitelisted) throw err.ip(req.socket.remoteAddress ?? '127.0.0.1');
      if (!pbx.callApi.accountActive) throw err.accountInactive();
      if (!pbx.callApi.componentEnabled) throw err.component('Call API Базовый набор');
      const over = pbx.callApiBudget.exceeded();
      if (over) throw err.limit(over, over === 'day' ? pbx.callApiBudget.dayLimit : pbx.callApiBudget.minuteLimit);
      const data = run(pbx, params);
      pbx.callApiBudget.charge();
      pbx.callApiRequests.push({ method, params, ok: true, at: world.clock.now() });
      return reply({ jsonrpc: '2.0', id, result: { data, metadata: { limits: pbx.callApiBudget.view() } } });
    } catch (e) {
      const x = e instanceof CallApiError ? e : new CallApiError(-32603, 'Internal error, contact the support service', 'internal_error');
      if (pbx && method) pbx.callApiRequests.push({ method, params, ok: false, error: x.mnemonic, at: world.clock.now() });
      const data: Json = { mnemonic: x.mnemonic };
      if (x.field !== undefined) data.field = x.field;
      if (x.value !== undefined) data.value = x.value;
      if (pbx && !['parse_error', 'invalid_request', 'method_not_found', 'access_token_invalid', 'auth_error', 'ip_not_whitelisted'].includes(x.mnemonic)) {
        data.metadata = { limits: pbx.callApiBudget.view() };
      }
      return reply({ jsonrpc: '2.0', id: id ?? null, error: { code: x.code, message: x.message, data } });
    }
  });
  router.all('/', (_req, res) => {
    res.status(405).setHeader('Allow', 'POST').type('text/plain').send('Method Not Allowed');
  });
  return router;
}
