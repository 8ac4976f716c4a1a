import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { ReauthRequiredError } from '../../bitrix/errors';
import type { BitrixEvent } from '../../bitrix/event-schemas';
import type { BatchCall, BatchResponse, PortalRestClient } from '../../bitrix/rest-client';
import { defaultTelephonySettings, type TelephonySettings } from '../../contracts/telephony-settings';
import type { UisProject } from '../../contracts/uis';
import type { Clock } from '../../domain/clock';
import { escapeBbcode } from '../../domain/bbcode';
import { phoneDigits } from '../../domain/phone';
import type { Logger } from '../../logging';
import { callApiForLink } from '../../uis/call-api';
import { UisApiError } from '../../uis/errors';
import type { EmployeeDirectory } from '../employee-sync/ports';
import type { AsyncPort } from '../async-port';
import type { BitrixGateway, UisEndpoints, UisLinkRepository } from '../ports';
import type { TelephonyRepository } from './ports';
import { createSipLineCache, type SipLineCache } from './sip-lines';
import type { TelephonyStart, TelephonyStartRepository } from './start-ports';
import { startFailure, type StartFailure } from './start-failures';

export interface TelephonyStartsDeps {
  starts: TelephonyStartRepository;
  telephony: TelephonyRepository;
  links: AsyncPort<UisLinkRepository>;
  uisEndpoints(project: UisProject): UisEndpoints;
  employees: AsyncPort<EmployeeDirectory>;
  gateway: BitrixGateway;
  clock: Clock;
  log: Logger;
  fetch?: typeof fetch;
  /** the worker, woken when a session may already have notifications waiting for its start */
  wake?: () => void;
}

const id = z.coerce.number().int().nonnegative();
const str = z.string().max(255);
/** ONEXTERNALCALLSTART `data` (b24-rest-docs events/on-external-call-start.md; docs/facts/telephony.md#call-events, docs/facts/telephony.md#gotcha-5: parsed tolerantly). */
const clickSchema = z.object({
  CALL_ID: z.string().min(1).max(128),
  USER_ID: z.coerce.number().int().positive(),
  PHONE_NUMBER: str,
  PHONE_NUMBER_INTERNATIONAL: str.optional(),
  LINE_NUMBER: str.optional(),
  CRM_ENTITY_TYPE: str.optional(),
  CRM_ENTITY_ID: id.optional().catch(undefined),
});
/** ONEXTERNALCALLBACKSTART `data` (events/on-external-call-back-start.md): no USER_ID, nothing registered yet. */
const callbackSchema = z.object({
  PHONE_NUMBER: str,
  TEXT: z.string().max(4000).optional(),
  LINE_NUMBER: str.optional(),
  CRM_ENTITY_TYPE: str.optional(),
  CRM_ENTITY_ID: id.optional().catch(undefined),
});

/** Bitrix24 binds a call only to these (docs/facts/telephony.md#register: no DEAL). */
const BINDABLE = new Set(['LEAD', 'CONTACT', 'COMPANY']);
/** A UIS TTS message is bounded (`tts_text_exceeded`, the docs give no number): the form's text is cut here. */
const TTS_MAX = 400;

/**
 * «Звонки по клику из CRM» and «Обратный звонок» (issue #14, seed 002 lines 119–133): a Bitrix24
 * event becomes a UIS Call API session whose external_id is our correlation id; the notifications
 * of that session come back with it and the worker finishes the call on the CALL_ID kept here.
 */
export function createTelephonyStarts(deps: TelephonyStartsDeps) {
  const log = deps.log.child({ component: 'telephony-starts' });
  const sipLines: SipLineCache = createSipLineCache({ links: deps.links, uisEndpoints: deps.uisEndpoints, clock: deps.clock, log, fetch: deps.fetch });
  const settingsOf = async (memberId: string): Promise<TelephonySettings> => (await deps.telephony.getSettings(memberId))?.settings ?? defaultTelephonySettings();
  const newCorrelation = () => `omni-${randomBytes(10).toString('hex')}`;

  /** Closes the call card with the reason (finish + an IM notification to the employee) and keeps the failure for the admin. */
  async function fail(memberId: string, start: TelephonyStart, f: StartFailure, notifyUserId: number | null): Promise<void> {
    await deps.starts.save({ ...start, status: 'failed', errorCode: f.code, error: f.text });
    const cmd: Record<string, BatchCall> = {};
    if (start.callId && start.userId) {
      cmd.finish = { method: 'telephony.externalCall.finish', params: { CALL_ID: start.callId, USER_ID: start.userId, DURATION: 0, STATUS_CODE: f.statusCode, FAILED_REASON: f.text, ADD_TO_CHAT: 0 } };
    }
    if (notifyUserId) {
      const what = start.kind === 'click' ? `Звонок на ${start.phone} не начат` : `Обратный звонок на ${start.phone} не начат`;
      cmd.notify = { method: 'im.notify.system.add', params: { USER_ID: notifyUserId, MESSAGE: escapeBbcode(`${what}: ${f.text}`), TAG: `uis-omni-start-${start.correlationId}` } };
    }
    log.warn({ memberId, kind: start.kind, code: f.code }, 'a call from Bitrix24 could not start');
    if (!Object.keys(cmd).length) return;
    try {
      const r = await deps.gateway.client(memberId).batch(cmd);
      for (const [k, e] of Object.entries(r.errors)) log.warn({ memberId, step: k, code: e.error }, 'closing a call that could not start failed');
    } catch (e) {
      if (!(e instanceof ReauthRequiredError)) log.warn({ memberId, err: (e as Error).message }, 'closing a call that could not start failed');
    }
  }

  /** ONEXTERNALCALLSTART: the portal registered the call (TYPE 1); ring the employee in UIS, then the client. */
  async function onClick(memberId: string, raw: unknown): Promise<void> {
    const p = clickSchema.safeParse(raw);
    if (!p.success) {
      log.warn({ memberId, issues: p.error.issues.map((i) => i.path.join('.')) }, 'ONEXTERNALCALLSTART without the documented data: ignored');
      return;
    }
    const d = p.data;
    const contact = phoneDigits(d.PHONE_NUMBER_INTERNATIONAL || d.PHONE_NUMBER) ?? (d.PHONE_NUMBER.replace(/\D+/g, '') || d.PHONE_NUMBER);
    const start: TelephonyStart = { memberId, correlationId: newCorrelation(), kind: 'click', callId: d.CALL_ID, userId: d.USER_ID, phone: contact, sessionId: null, status: 'started', errorCode: null, error: null, createdAt: deps.clock.now() };
    const s = await settingsOf(memberId);
    const c2c = s.clickToCall;
    const link = await deps.links.get(memberId);
    const employeeId = await deps.employees.uisEmployeeFor(memberId, d.USER_ID);
    const refuse = (code: Parameters<typeof startFailure>[0]) => fail(memberId, start, startFailure(code), d.USER_ID);
    if (!s.enabled || !c2c?.use || !c2c.number) return refuse('CLICK_TO_CALL_OFF');
    if (!link) return refuse('UIS_NOT_LINKED');
    if (employeeId === null) return refuse('EMPLOYEE_NOT_PAIRED');
    if (!/^\d{5,15}$/.test(contact)) return refuse('BAD_NUMBER');
    // «Переопределять АОН»: the client sees the chosen number; otherwise the employee's SIP line's
    // number, else the Bitrix24 line the click went through (seed 002 line 124), else the chosen one
    const chosen = c2c.number.replace(/\D+/g, '');
    const line = d.LINE_NUMBER ? d.LINE_NUMBER.replace(/\D+/g, '') : '';
    const own = c2c.overrideCallerId ? null : ((await sipLines.of(memberId, employeeId))?.virtualNumber ?? (line && (await sipLines.isVirtualNumber(memberId, line)) ? line : null));
    const params = { first_call: 'employee', virtual_phone_number: own ?? chosen, contact, employee: { id: employeeId }, direction: 'out', external_id: start.correlationId };
    await deps.starts.save(start);
    try {
      const sessionId = await callApiForLink(link, deps.uisEndpoints, deps.fetch).start('start.employee_call', params);
      await deps.starts.save({ ...start, sessionId });
      deps.wake?.();
    } catch (e) {
      await fail(memberId, start, uisFailure(e), d.USER_ID);
    }
  }

  /** ONEXTERNALCALLBACKSTART: register the callback (TYPE 4), then ring the responsible (or the settings' number), then the client. */
  async function onCallback(memberId: string, raw: unknown): Promise<void> {
    const p = callbackSchema.safeParse(raw);
    if (!p.success) {
      log.warn({ memberId, issues: p.error.issues.map((i) => i.path.join('.')) }, 'ONEXTERNALCALLBACKSTART without the documented data: ignored');
      return;
    }
    const d = p.data;
    const contact = phoneDigits(d.PHONE_NUMBER) ?? d.PHONE_NUMBER.replace(/\D+/g, '');
    const s = await settingsOf(memberId);
    const start: TelephonyStart = { memberId, correlationId: newCorrelation(), kind: 'callback', callId: null, userId: null, phone: contact, sessionId: null, status: 'started', errorCode: null, error: null, createdAt: deps.clock.now() };
    const link = await deps.links.get(memberId);
    const type = (d.CRM_ENTITY_TYPE ?? '').toUpperCase();
    const entity = type && d.CRM_ENTITY_ID ? { type, id: d.CRM_ENTITY_ID } : null;
    const rest = deps.gateway.client(memberId);
    // the responsible of the client's item; without one, the default responsible for missed incoming calls
    let responsible: number | null = null;
    if (entity && /^(LEAD|CONTACT|COMPANY|DEAL)$/.test(entity.type)) {
      const r = await rest.call<Record<string, unknown>>(`crm.${entity.type.toLowerCase()}.get`, { id: entity.id }).catch(() => null);
      responsible = Number(r?.result?.ASSIGNED_BY_ID) || null;
    }
    const userId = responsible ?? s.responsible.incomingDefaultUserId;
    if (!s.enabled || !s.callback?.use || !s.callback.number) return fail(memberId, start, startFailure('CALLBACK_OFF'), userId);
    if (!link) return fail(memberId, start, startFailure('UIS_NOT_LINKED'), userId);
    if (!userId) return fail(memberId, start, startFailure('NO_RESPONSIBLE'), null);
    if (!/^\d{5,15}$/.test(contact)) return fail(memberId, start, startFailure('BAD_NUMBER'), userId);
    const employeeId = responsible ? await deps.employees.uisEmployeeFor(memberId, responsible) : null;
    const sip = employeeId !== null ? await sipLines.of(memberId, employeeId) : null;
    const line = d.LINE_NUMBER ? d.LINE_NUMBER.replace(/\D+/g, '') : '';
    const vn = (line && (await sipLines.isVirtualNumber(memberId, line)) ? line : null) ?? s.clickToCall?.number?.replace(/\D+/g, '') ?? (await sipLines.firstVirtualNumber(memberId));
    if (!vn) return fail(memberId, start, startFailure('NO_VIRTUAL_NUMBER'), userId);

    // the call appears in Bitrix24 as a callback (TYPE 4) with the form's text on the client's timeline
    const text = d.TEXT?.trim() ?? '';
    const reg: Record<string, unknown> = { PHONE_NUMBER: contact, TYPE: 4, CRM_CREATE: 0, SHOW: 0, LINE_NUMBER: vn, EXTERNAL_CALL_ID: start.correlationId };
    if (entity && BINDABLE.has(entity.type)) Object.assign(reg, { CRM_ENTITY_TYPE: entity.type, CRM_ENTITY_ID: entity.id });
    const comment: BatchCall | null = entity
      ? { method: 'crm.timeline.comment.add', params: { fields: { ENTITY_ID: entity.id, ENTITY_TYPE: entity.type.toLowerCase(), COMMENT: escapeBbcode(`Обратный звонок с формы${text ? `: ${text}` : ''}`) } } }
      : null;
    const registered = await registerCallback(rest, reg, [userId, s.responsible.incomingDefaultUserId], comment);
    if ('error' in registered) return fail(memberId, start, { ...startFailure('REGISTER_FAILED'), text: `Битрикс24 не зарегистрировал звонок: ${registered.error}` }, userId);
    const { callId } = registered;
    const started: TelephonyStart = { ...start, callId, userId: registered.userId };
    await deps.starts.save(started);
    const tts = text ? { type: 'tts', value: text.slice(0, TTS_MAX) } : null;
    // «звонить на номер из настроек интеграции будет только в случае, если не смогли найти
    // сотрудника сопоставленного, или если сотрудник без сипа» (seed 002 line 129)
    const call = employeeId !== null && sip
      ? { method: 'start.employee_call' as const, params: { first_call: 'employee', virtual_phone_number: vn, contact, employee: { id: employeeId, phone_number: sip.phoneNumber }, external_id: start.correlationId, ...(tts ? { employee_message: tts } : {}) } }
      : { method: 'start.simple_call' as const, params: { first_call: 'operator', virtual_phone_number: vn, contact, operator: s.callback.number.replace(/\D+/g, ''), external_id: start.correlationId, ...(tts ? { operator_message: tts } : {}) } };
    try {
      const sessionId = await callApiForLink(link, deps.uisEndpoints, deps.fetch).start(call.method, call.params);
      await deps.starts.save({ ...started, sessionId });
      deps.wake?.();
    } catch (e) {
      await fail(memberId, started, uisFailure(e), userId);
    }
  }

  return {
    /** A verified, first-seen Bitrix24 event (event-fanout.ts); the others are not ours. */
    async onEvent(memberId: string, ev: BitrixEvent): Promise<void> {
      if (ev.event === 'ONEXTERNALCALLSTART') await onClick(memberId, ev.data);
      else if (ev.event === 'ONEXTERNALCALLBACKSTART') await onCallback(memberId, ev.data);
    },
    failures: (memberId: string, limit = 10) => deps.starts.failures(memberId, limit),
    sipLines,
  };
}
export type TelephonyStarts = ReturnType<typeof createTelephonyStarts>;

/**
 * Registers the callback for the first of `users` Bitrix24 accepts: the item's responsible may have
 * left («User is not found or is not active», docs/facts/telephony.md#register) — then the default
 * responsible for missed calls takes it. The timeline comment rides with the first attempt.
 */
async function registerCallback(rest: PortalRestClient, params: Record<string, unknown>, users: Array<number | null>, comment: BatchCall | null): Promise<{ callId: string; userId: number } | { error: string }> {
  let error = 'нет ответа';
  let first = true;
  for (const userId of [...new Set(users)].filter((u): u is number => u !== null)) {
    const cmd: Record<string, BatchCall> = { register: { method: 'telephony.externalCall.register', params: { ...params, USER_ID: userId } } };
    if (comment && first) cmd.comment = comment;
    first = false;
    let r: Pick<BatchResponse, 'result' | 'errors'>;
    try {
      r = await rest.batch(cmd);
    } catch (e) {
      return { error: (e as Error).message };
    }
    const callId = (r.result.register as { CALL_ID?: unknown } | undefined)?.CALL_ID;
    if (typeof callId === 'string' && callId) return { callId, userId };
    const e = r.errors.register;
    error = e?.error_description || e?.error || error;
    if (!/user is not found|not active/i.test(error)) return { error };
  }
  return { error };
}

/** A Call API refusal as the employee reads it. */
function uisFailure(e: unknown): StartFailure {
  if (e instanceof UisApiError) return startFailure(e.code, e.message);
  return startFailure('UIS_UNAVAILABLE', (e as Error).message);
}
