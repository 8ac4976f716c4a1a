import type { BatchCall, BatchResponse, PortalRestClient } from '../../bitrix/rest-client';
import { MAX_BATCH } from '../../bitrix/rest-client';
import type { CallLink, CallOperation } from '../../domain/crm-rules/call-types';
import { recordingFileName } from '../../domain/crm-rules/call-status';
import type { CreateOp, EntityRef } from '../../domain/crm-rules/types';
import type { CallTrack } from '../../domain/telephony/track';
import { fetchRecording, recordingExtension } from '../../uis/recordings';
import type { TelephonyCall } from './ports';
import type { CallPlan, CallProgress } from './progress';


/** ORIGINATOR_ID of what the app creates; ORIGIN_ID = the operation key finds it again after a lost answer. */
export const ORIGINATOR = 'uis_omni';
/** A batch of recordings is kept under this many bytes of base64 (the request body). */
const RECORDINGS_PER_BATCH_BYTES = 8 * 1024 * 1024;

type Row = Record<string, unknown>;

/** One call in a run: its row, what is known, what was done; the run mutates `state`. */
export interface Work {
  row: TelephonyCall;
  track: CallTrack;
  state: CallProgress;
  /** users the card should be shown to now; null = leave the cards alone */
  cards: number[] | null;
  /** what stopped this call in this run */
  error: { message: string; permanent: boolean } | null;
  /** «Обработано» done in this run: activity ids */
  completed: number[];
}

export interface ApplyDeps {
  rest: PortalRestClient;
  /** persists a call's progress (before a request whose outcome a crash could lose) */
  save(w: Work): Promise<void>;
  fetch?: typeof fetch;
  /** hosts recordings may be downloaded from besides UIS's own (the account's configured endpoints) */
  recordingHosts?: readonly string[];
  /** the portal's CALL_START_DATE etc. come from the facts; this is only for logs */
  log: { warn(o: object, m: string): void };
}

const refName = (r: EntityRef) => ('ref' in r ? r.ref : r.type);
const multi = (values: string[]) => values.map((VALUE) => ({ VALUE, VALUE_TYPE: 'WORK' }));

/** The id of an entity a plan refers to: an existing one, or one this plan created (null until it is). */
function resolve(w: Work, plan: CallPlan, r: EntityRef): number | null {
  if (!('ref' in r)) return r.id;
  const op = plan.ops.find((o): o is CreateOp => o.op === 'create' && o.ref === r.ref);
  return op ? (w.state.ops[op.key]?.id ?? null) : null;
}

function refsOf(op: CallOperation): EntityRef[] {
  if (op.op === 'create') return Object.values(op.links).filter((x): x is EntityRef => !!x);
  if (op.op === 'update') return [op.target];
  return [];
}

function command(w: Work, plan: CallPlan, op: CallOperation): BatchCall {
  const id = (r: EntityRef) => resolve(w, plan, r);
  switch (op.op) {
    case 'create': {
      const fields: Row = { ...op.fields, ORIGINATOR_ID: ORIGINATOR, ORIGIN_ID: op.key };
      if (op.responsibleId) fields.ASSIGNED_BY_ID = op.responsibleId;
      const phones = op.contact?.phones ?? [];
      if (op.ref === 'contact') {
        fields.NAME = op.contact?.name ?? phones[0] ?? '';
      } else {
        fields.TITLE = op.title ?? '';
        fields.SOURCE_ID = 'CALL';
        if (op.ref === 'lead' && op.contact?.name) fields.NAME = op.contact.name;
      }
      // the lead (or the contact) carries the number, so Bitrix24 finds the client by it next time
      if (phones.length && op.ref !== 'deal') fields.PHONE = multi(phones);
      if (op.stage && 'leadStatusId' in op.stage && op.stage.leadStatusId) fields.STATUS_ID = op.stage.leadStatusId;
      if (op.stage && 'dealCategoryId' in op.stage) {
        if (op.stage.dealCategoryId !== null) fields.CATEGORY_ID = op.stage.dealCategoryId;
        if (op.stage.dealStageId) fields.STAGE_ID = op.stage.dealStageId;
      }
      if (op.links.contact) fields.CONTACT_ID = id(op.links.contact);
      if (op.links.company) fields.COMPANY_ID = id(op.links.company);
      return { method: `crm.${op.ref}.add`, params: { fields, params: { REGISTER_SONET_EVENT: 'Y' } } };
    }
    case 'update':
      return { method: `crm.${refName(op.target)}.update`, params: { id: id(op.target), fields: op.fields, params: { REGISTER_SONET_EVENT: 'N' } } };
    case 'complete':
      return { method: 'crm.activity.update', params: { id: op.activityId, fields: { COMPLETED: 'Y' } } };
  }
}

const idOf = (v: unknown): number | null => {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && /^\d+$/.test(v)) return Number(v);
  if (v && typeof v === 'object') return Number((v as Row).ID ?? (v as Row).id) || null;
  return null;
};

/** Commands in as few batches as they fit, keeping each group (one call's commands) in one batch. */
async function runGroups(rest: PortalRestClient, groups: Array<Record<string, BatchCall>>, maxBytes = Infinity, size: (g: Record<string, BatchCall>) => number = () => 0): Promise<BatchResponse> {
  const out: BatchResponse = { result: {}, errors: {}, total: {}, next: {} };
  let cur: Record<string, BatchCall> = {};
  let n = 0;
  let bytes = 0;
  const flush = async () => {
    if (!n) return;
    const r = await rest.batch(cur);
    Object.assign(out.result, r.result);
    Object.assign(out.errors, r.errors);
    cur = {};
    n = 0;
    bytes = 0;
  };
  for (const g of groups) {
    const k = Object.keys(g).length;
    const b = size(g);
    if (n + k > MAX_BATCH || (n > 0 && bytes + b > maxBytes)) await flush();
    Object.assign(cur, g);
    n += k;
    bytes += b;
  }
  await flush();
  return out;
}

const pendingOps = (w: Work, plan: CallPlan) => plan.ops.filter((o) => w.state.ops[o.key]?.state !== 'done');
const pendingCreates = (w: Work, plan: CallPlan) => pendingOps(w, plan).filter((o): o is CreateOp => o.op === 'create');

/**
 * A new client's items go in the same batch as the call's register, just before it: register then
 * finds them by the number (Bitrix24 searches the CRM when no item is named, docs/facts/telephony.md#register), so
 * the call binds to them without a request of its own and without a `$result` reference. Only when
 * nothing of the client existed (the search found nothing) and the items refer to nothing this plan
 * creates (a lead; not a deal waiting for its new contact).
 */
export function inlineCreates(w: Work): boolean {
  const plan = w.state.plan;
  if (!plan?.register || w.state.callId || w.state.origin !== 'uis' || !w.state.newClient) return false;
  const creates = pendingCreates(w, plan);
  return creates.length > 0 && creates.every((op) => w.state.ops[op.key]?.state !== 'sent' && refsOf(op).every((r) => !('ref' in r)));
}
const PERMANENT_CRM = new Set(['ACCESS_DENIED', 'OWNER_NOT_FOUND', 'INVALID_ARG_VALUE', 'NOT_FOUND', 'ERROR_METHOD_NOT_FOUND', 'insufficient_scope']);

/**
 * The items the calls of the run create, in as few `batch` requests as they fit in: first the
 * lookups of creations whose answer was lost (ORIGIN_ID), then waves — what refers to an item the
 * same plan creates (a deal to its new contact) goes in the wave after it (no `$result` references
 * across calls' commands: one call's failure never feeds another's). Each creation is saved `sent`
 * before its batch and `done` with Bitrix24's id after. Creations go first because `register`
 * binds the call to them; every other operation rides along with the telephony commands.
 */
export async function applyCreates(deps: ApplyDeps, works: Work[]): Promise<void> {
  const creates = (w: Work) => pendingCreates(w, w.state.plan!);
  const active = () => works.filter((w) => w.state.plan && !w.error && creates(w).length && !inlineCreates(w));
  // lost answers: did the portal create it?
  const lookupOf = new Map<string, { w: Work; op: CreateOp }>();
  const lookups: Array<Record<string, BatchCall>> = [];
  for (const w of active()) {
    for (const op of creates(w)) {
      if (w.state.ops[op.key]?.state !== 'sent') continue;
      const k = `l${lookupOf.size}`;
      lookups.push({ [k]: { method: `crm.${op.ref}.list`, params: { filter: { ORIGINATOR_ID: ORIGINATOR, ORIGIN_ID: op.key }, select: ['ID'] } } });
      lookupOf.set(k, { w, op });
    }
  }
  if (lookupOf.size) {
    const r = await runGroups(deps.rest, lookups);
    for (const [k, { w, op }] of lookupOf) {
      if (r.errors[k]) continue; // unknown still: asked again next run
      const id = idOf((r.result[k] as Row[] | undefined)?.[0]);
      if (id) w.state.ops[op.key] = { state: 'done', id };
      else delete w.state.ops[op.key];
    }
  }
  for (let wave = 0; wave < 4; wave++) {
    const groups: Array<Record<string, BatchCall>> = [];
    const sent = new Map<string, { w: Work; op: CreateOp }>();
    for (const w of active()) {
      const plan = w.state.plan!;
      const g: Record<string, BatchCall> = {};
      for (const op of creates(w)) {
        if (w.state.ops[op.key]?.state === 'sent') continue; // still unknown
        if (refsOf(op).some((r) => resolve(w, plan, r) === null)) continue; // waits for an item of this plan
        const k = `c${sent.size}`;
        g[k] = command(w, plan, op);
        sent.set(k, { w, op });
        w.state.ops[op.key] = { state: 'sent', id: null };
      }
      if (Object.keys(g).length) groups.push(g);
    }
    if (!groups.length) return;
    await Promise.all([...new Set([...sent.values()].map((s) => s.w))].map((w) => deps.save(w)));
    const r = await runGroups(deps.rest, groups);
    for (const [k, { w, op }] of sent) opOutcome(deps, w, op, k, r);
  }
}

/** Bitrix24's answer to one CRM operation: done with its id, or not done (and why). */
function opOutcome(deps: ApplyDeps, w: Work, op: CallOperation, k: string, r: BatchResponse): void {
  if (k in r.result) {
    w.state.ops[op.key] = { state: 'done', id: op.op === 'complete' ? op.activityId : idOf(r.result[k]) };
    if (op.op === 'complete') w.completed.push(op.activityId);
    return;
  }
  // refused before it ran (or never reached): it did not happen
  delete w.state.ops[op.key];
  const e = r.errors[k];
  if (op.op === 'complete') {
    // an activity someone deleted or we may not touch: «Обработано» is not worth stopping the call for
    w.state.ops[op.key] = { state: 'done', id: null };
    deps.log.warn({ sessionId: w.row.sessionId, code: e?.error }, 'could not mark an earlier missed call «Обработано»');
    return;
  }
  const msg = `${command(w, w.state.plan!, op).method}: ${e?.error || 'not run'}${e?.error_description ? ` (${e.error_description})` : ''}`;
  w.error ??= { message: msg, permanent: PERMANENT_CRM.has(e?.error ?? '') };
}

/** Operations to do later (the delayed responsible) with the items this plan created by their ids. */
export function resolvedOps(w: Work, plan: CallPlan, ops: CallOperation[]): CallOperation[] {
  const fix = (r: EntityRef): EntityRef => {
    if (!('ref' in r)) return r;
    const id = resolve(w, plan, r);
    return id ? { type: r.ref, id } : r;
  };
  return ops.map((op) => (op.op === 'update' ? { ...op, target: fix(op.target) } : op));
}

/** The link to keep once a plan is done: the items it created by their ids. */
export function resolvedLink(w: Work, plan: CallPlan): CallLink {
  return {
    ...plan.link,
    created: plan.link.created.flatMap((c) => {
      const id = resolve(w, plan, c.entity);
      return id ? [{ entity: { type: refName(c.entity) as 'lead' | 'deal' | 'contact', id }, responsibleId: c.responsibleId }] : [];
    }),
  };
}

/** Bitrix24 answers this to a second finish (the live call row is gone, docs/facts/telephony.md#finish). */
const NOT_FOUND = /call is not found/i;
const PERMANENT_REGISTER = /user is not found|not active|unsupported phone|unknown type|iso-8601/i;

/** A recording downloaded for this run, to attach once its call is finished. */
export interface ReadyRecording {
  id: string;
  name: string;
  base64: string;
}

/**
 * Everything else of every call in the run in shared batches — one group of commands per call,
 * never split, in the order Bitrix24 needs: its CRM updates and «Обработано», register, the cards
 * shown and hidden, finish, and the recordings. A call registered in this batch is shown, hidden,
 * finished and given its recording by `$result[<register>][CALL_ID]` (a failed register makes those
 * fail harmlessly, and they go again next run; register itself is idempotent within Bitrix24's
 * 30-minute window thanks to EXTERNAL_CALL_ID). `finish` hides the card only for the finishing
 * user: the others are hidden here. A repeated attachRecord replaces the record (docs/facts/telephony.md#attach-record),
 * so a lost answer is simply sent again.
 */
export async function applyCalls(deps: ApplyDeps, works: Work[], recordings: Map<Work, ReadyRecording[]>): Promise<void> {
  type Step = { w: Work; kind: 'op' | 'register' | 'show' | 'hide' | 'finish' | 'record'; users?: number[]; op?: CallOperation; rec?: ReadyRecording };
  const groups: Array<Record<string, BatchCall>> = [];
  const steps = new Map<string, Step>();
  for (const w of works) {
    if (w.error) continue;
    const plan = w.state.plan;
    const inline = inlineCreates(w);
    if (plan && !inline && pendingCreates(w, plan).length) continue; // its items first
    const g: Record<string, BatchCall> = {};
    const key = (s: Omit<Step, 'w'>) => {
      const k = `${s.kind[0]}${steps.size}`;
      steps.set(k, { w, ...s });
      return k;
    };
    for (const op of plan ? pendingOps(w, plan) : []) {
      g[key({ kind: 'op', op })] = command(w, plan!, op);
      w.state.ops[op.key] = { state: 'sent', id: null };
    }
    let callId: string | null = w.state.callId;
    let shown = [...w.state.shown];
    const reg = plan?.register && !w.state.callId && w.state.origin === 'uis' ? plan.register : null;
    if (reg) {
      const bind = reg.bind ? resolve(w, plan!, reg.bind) : null;
      const params: Row = {
        USER_ID: reg.userId,
        PHONE_NUMBER: reg.phone,
        TYPE: reg.type,
        CALL_START_DATE: reg.startedAt,
        CRM_CREATE: 0,
        SHOW: reg.show ? 1 : 0,
        EXTERNAL_CALL_ID: String(w.row.sessionId),
      };
      if (reg.lineNumber) params.LINE_NUMBER = reg.lineNumber;
      if (reg.bind && bind && !inline) {
        params.CRM_ENTITY_TYPE = refName(reg.bind).toUpperCase();
        params.CRM_ENTITY_ID = bind;
      }
      const k = key({ kind: 'register' });
      g[k] = { method: 'telephony.externalCall.register', params };
      callId = `$result[${k}][CALL_ID]`;
      if (reg.show) shown = [...new Set([...shown, reg.userId])];
    }
    const finish = plan?.finish && !w.state.finished ? plan.finish : null;
    if (callId) {
      const want = w.cards ?? shown;
      const show = want.filter((u) => !shown.includes(u));
      const hide = shown.filter((u) => !want.includes(u) && u !== finish?.userId);
      if (show.length) g[key({ kind: 'show', users: show })] = { method: 'telephony.externalCall.show', params: { CALL_ID: callId, USER_ID: show } };
      if (hide.length) g[key({ kind: 'hide', users: hide })] = { method: 'telephony.externalCall.hide', params: { CALL_ID: callId, USER_ID: hide } };
      if (finish) {
        const params: Row = {
          CALL_ID: callId,
          USER_ID: finish.userId,
          DURATION: finish.durationSec,
          STATUS_CODE: finish.statusCode,
          // omitted ADD_TO_CHAT counts as 0 (vi_rest passes `ADD_TO_CHAT != false`): always explicit
          ADD_TO_CHAT: finish.addToChat ? 1 : 0,
        };
        if (finish.failedReason) params.FAILED_REASON = finish.failedReason;
        g[key({ kind: 'finish' })] = { method: 'telephony.externalCall.finish', params };
      }
      if (w.state.finished || finish) {
        for (const rec of recordings.get(w) ?? []) {
          g[key({ kind: 'record', rec })] = { method: 'telephony.externalCall.attachRecord', params: { CALL_ID: callId, FILENAME: rec.name, FILE_CONTENT: rec.base64 } };
        }
      }
    }
    if (Object.keys(g).length) groups.push(g);
  }
  if (!groups.length) return;
  await Promise.all([...new Set([...steps.values()].map((s) => s.w))].map((w) => deps.save(w)));
  const size = (g: Record<string, BatchCall>) => Object.values(g).reduce((n, c) => n + (typeof (c.params as Row | undefined)?.FILE_CONTENT === 'string' ? ((c.params as Row).FILE_CONTENT as string).length : 200), 0);
  const r = await runGroups(deps.rest, groups, RECORDINGS_PER_BATCH_BYTES, size);
  for (const [k, s] of steps) {
    const { w } = s;
    const ok = k in r.result;
    const e = r.errors[k];
    const why = e ? `${e.error || 'error'}${e.error_description ? ` (${e.error_description})` : ''}` : 'not run';
    switch (s.kind) {
      case 'op':
        opOutcome(deps, w, s.op!, k, r);
        break;
      case 'register': {
        const callId = ok ? (r.result[k] as Row | undefined)?.CALL_ID : undefined;
        if (typeof callId === 'string' && callId) {
          w.state.callId = callId;
          const reg = w.state.plan!.register!;
          if (reg.show) w.state.shown = [...new Set([...w.state.shown, reg.userId])];
        } else {
          w.error ??= { message: `telephony.externalCall.register: ${why}`, permanent: PERMANENT_REGISTER.test(e?.error_description ?? '') };
        }
        break;
      }
      case 'show':
        if (ok && r.result[k] !== false) w.state.shown = [...new Set([...w.state.shown, ...s.users!])];
        break;
      case 'hide':
        if (ok) w.state.shown = w.state.shown.filter((u) => !s.users!.includes(u));
        break;
      case 'finish':
        if (ok || NOT_FOUND.test(e?.error_description ?? '')) {
          if (!w.state.callId) break; // the register of this batch failed: finish again with it
          w.state.finished = true;
          w.state.shown = [];
          w.state.activityId = ok ? idOf((r.result[k] as Row).CRM_ACTIVITY_ID) : null;
          if (!ok) deps.log.warn({ sessionId: w.row.sessionId }, 'finish: Bitrix24 has no such live call (finished before, its answer lost)');
        } else if (w.state.callId) {
          const inactive = /user is not found|not active/i.test(e?.error_description ?? '');
          // the responsible the rules chose has left: the user the call was registered for (active,
          // Bitrix24 took him at register) finishes it instead — a registered call is always finished
          const registered = w.state.link?.registeredUserId ?? w.state.plan?.link.registeredUserId ?? null;
          const plan = w.state.plan;
          const retry = inactive && plan?.finish && registered !== null && plan.finish.userId !== registered;
          if (retry) plan.finish = { ...plan.finish!, userId: registered };
          w.error ??= { message: `telephony.externalCall.finish: ${why}`, permanent: inactive && !retry };
        }
        break;
      case 'record': {
        const rec = w.state.record;
        if (ok) {
          rec.attached = [...new Set([...rec.attached, s.rec!.id])];
          rec.lastError = null;
        } else if (!/not finished yet|not run/i.test(why)) {
          rec.tries++;
          rec.lastError = why;
          if (rec.tries >= 5) rec.gaveUp = true;
        }
        break;
      }
    }
  }
}

/**
 * Downloads the recordings the run can attach: calls that want theirs and are (or will be in this
 * run) finished. A link that is not ready yet is tried again later (`onNotReady`); one that can
 * never work gives up with its reason.
 */
export async function downloadRecordings(deps: ApplyDeps, works: Work[], onNotReady: (w: Work, reason: string) => void): Promise<Map<Work, ReadyRecording[]>> {
  const out = new Map<Work, ReadyRecording[]>();
  const todo = works.filter((w) => !w.error && (w.state.record.wanted || w.state.plan?.attachRecording) && !w.state.record.gaveUp && (w.state.finished || w.state.plan?.finish));
  const jobs = todo.flatMap((w) => w.track.recordings.filter((r) => !w.state.record.attached.includes(r.id)).map((rec) => ({ w, rec })));
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const { w, rec } = jobs[next++]!;
      const got = await fetchRecording(rec.url, { fetch: deps.fetch, hosts: deps.recordingHosts });
      if (!got.ok) {
        if (got.retry) onNotReady(w, got.reason);
        else {
          w.state.record.gaveUp = true;
          w.state.record.lastError = got.reason;
        }
        continue;
      }
      const name = recordingFileName(w.row.sessionId, rec.id).replace(/\.mp3$/, `.${recordingExtension(got.bytes)}`);
      out.set(w, [...(out.get(w) ?? []), { id: rec.id, name, base64: got.bytes.toString('base64') }]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(8, jobs.length) }, worker));
  return out;
}
