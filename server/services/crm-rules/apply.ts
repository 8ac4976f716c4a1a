import { MAX_BATCH, type BatchCall, type PortalRestClient } from '../../bitrix/rest-client';
import type { CrmEntityType, Decision, EntityRef, Operation } from '../../domain/crm-rules/types';
import type { AsyncPort } from '../async-port';
import type { CrmRequestRepository } from './ports';

type Apply = Extract<Decision, { action: 'apply' }>;
type Row = Record<string, unknown>;

/** ORIGINATOR_ID of what the app creates: with ORIGIN_ID = the operation key it finds its own entities again. */
export const ORIGINATOR = 'uis_omni';
const TODO_DEADLINE_MS = 24 * 3600_000;

export interface ApplyDeps {
  rest: PortalRestClient;
  requests: AsyncPort<CrmRequestRepository>;
  memberId: string;
  now(): number;
}

/** The outcome of one attempt: all done (with the link's refs resolved), or what stopped it. */
export type ApplyResult = { done: true; targets: Array<{ type: CrmEntityType; id: number }> } | { done: false; error: string; permanent: boolean };

const entityOf = (op: Operation): 'contact' | 'lead' | 'deal' | null => (op.op === 'create' ? op.ref : null);

/**
 * Applies a decision with the fewest REST calls: every pending operation in one `batch` (halting at
 * the first failure), later commands referring to entities created earlier in it through
 * `$result[…]`. Each operation is recorded by its idempotency key, `sent` before the batch and
 * `done` with Bitrix24's answer, so a retry sends only what is not done. An operation whose answer
 * was lost (timeout, 5xx, crash) is looked up before it is sent again: created entities carry
 * ORIGINATOR_ID/ORIGIN_ID, comments and to-dos are matched by their text on the target's
 * timeline, updates are simply sent again — so a lost answer never becomes a second lead or comment.
 */
export async function applyDecision(deps: ApplyDeps, d: Apply): Promise<ApplyResult> {
  const states = await opStates(deps, d);
  const created = createdBefore(d, states);
  const stopped = (await findUnansweredCreations(deps, d, states, created)) ?? (await findUnansweredWrites(deps, d, states, created)) ?? (await sendPending(deps, d, created));
  return stopped ?? { done: true, targets: resolvedTargets(d, created) };
}

type Stop = Extract<ApplyResult, { done: false }>;
/** Entities created so far by the decision's `create` operations, by ref. */
type Created = Map<string, number>;

/** What earlier attempts recorded of each operation, by key (read once per attempt). */
type OpStates = Map<string, { state: 'sent' | 'done'; resultId: number | null } | null>;

async function opStates(deps: ApplyDeps, d: Apply): Promise<OpStates> {
  const states: OpStates = new Map();
  for (const op of d.ops) states.set(op.key, await deps.requests.op(deps.memberId, op.key));
  return states;
}

/** What earlier attempts created and saw answered. */
function createdBefore(d: Apply, states: OpStates): Created {
  const created: Created = new Map();
  for (const op of d.ops) {
    const rec = states.get(op.key);
    if (op.op === 'create' && rec?.state === 'done' && rec.resultId) created.set(op.ref, rec.resultId);
  }
  return created;
}

/** Answers lost earlier: find what the portal did create (ORIGINATOR_ID/ORIGIN_ID = the operation key). */
async function findUnansweredCreations(deps: ApplyDeps, d: Apply, states: OpStates, created: Created): Promise<Stop | null> {
  const { requests, memberId } = deps;
  const unknown = d.ops.filter((o) => o.op === 'create' && states.get(o.key)?.state === 'sent');
  if (!unknown.length) return null;
  const lookups: Record<string, BatchCall> = {};
  for (const o of unknown) {
    lookups[o.key] = { method: `crm.${entityOf(o)}.list`, params: { filter: { ORIGINATOR_ID: ORIGINATOR, ORIGIN_ID: o.key }, select: ['ID'] } };
  }
  let r;
  try {
    r = await deps.rest.batch(lookups);
  } catch (e) {
    return { done: false, error: `looking up entities of an unanswered call: ${(e as Error).message}`, permanent: false };
  }
  for (const o of unknown) {
    const id = Number((r.result[o.key] as Row[] | undefined)?.[0]?.ID);
    if (Number.isInteger(id) && id > 0) {
      await requests.markDone(memberId, o.key, id);
      created.set((o as Extract<Operation, { op: 'create' }>).ref, id);
    }
  }
  return null;
}

/** Comments and to-dos of an unanswered call: found by their text on the target's timeline. */
async function findUnansweredWrites(deps: ApplyDeps, d: Apply, states: OpStates, created: Created): Promise<Stop | null> {
  const { requests, memberId } = deps;
  const unsure = d.ops.filter((o): o is Extract<Operation, { op: 'comment' | 'activity' }> => (o.op === 'comment' || o.op === 'activity') && states.get(o.key)?.state === 'sent');
  const known = (r: EntityRef): number | null => ('ref' in r ? (created.get(r.ref) ?? null) : r.id);
  const lookups: Record<string, BatchCall> = {};
  for (const o of unsure) {
    const id = known(o.target);
    if (!id) continue; // its target was not created: neither was it
    lookups[o.key] =
      o.op === 'comment'
        ? { method: 'crm.timeline.comment.list', params: { filter: { ENTITY_ID: id, ENTITY_TYPE: typeOf(o.target) }, select: ['ID', 'COMMENT'], order: { ID: 'DESC' } } }
        : { method: 'crm.activity.list', params: { filter: { OWNER_TYPE_ID: OWNER_TYPE_ID[typeOf(o.target)], OWNER_ID: id, PROVIDER_ID: 'CRM_TODO' }, select: ['ID', 'SUBJECT'], order: { ID: 'DESC' } } };
  }
  if (!Object.keys(lookups).length) return null;
  let r;
  try {
    r = await deps.rest.batch(lookups);
  } catch (e) {
    return { done: false, error: `looking up what an unanswered call wrote: ${(e as Error).message}`, permanent: false };
  }
  for (const o of unsure) {
    const rows = (r.result[o.key] as Row[] | undefined) ?? [];
    const hit = rows.find((x) => (o.op === 'comment' ? String(x.COMMENT ?? '').trim() === o.text.trim() : String(x.SUBJECT ?? '') === o.title));
    if (hit) await requests.markDone(memberId, o.key, Number(hit.ID) || null);
  }
  return null;
}

/**
 * Every operation not done yet, in halting batches of at most 50: marked `sent` before, `done` with
 * the answer; a refused command (and those `halt` skipped) is cleared for the retry and stops it.
 */
async function sendPending(deps: ApplyDeps, d: Apply, created: Created): Promise<Stop | null> {
  const { requests, memberId } = deps;
  const refKeyOf = (ref: 'contact' | 'lead' | 'deal') => d.ops.find((o) => o.op === 'create' && o.ref === ref)?.key;
  const pending: Operation[] = [];
  for (const o of d.ops) if ((await requests.op(memberId, o.key))?.state !== 'done') pending.push(o);
  const notify = d.ops.find((o): o is Extract<Operation, { op: 'notify' }> => o.op === 'notify');
  for (let i = 0; i < pending.length; i += MAX_BATCH) {
    const chunk = pending.slice(i, i + MAX_BATCH);
    const cmd: Record<string, BatchCall> = {};
    const cmdKey = new Map<string, string>();
    const sendable = chunk.filter((o) => o.op !== 'notify');
    sendable.forEach((o, n) => cmdKey.set(o.key, `o${n}`));
    const ref = (r: EntityRef): string | number | null => {
      if (!('ref' in r)) return r.id;
      const id = created.get(r.ref);
      if (id) return id;
      const key = refKeyOf(r.ref);
      const k = key ? cmdKey.get(key) : undefined;
      return k ? `$result[${k}]` : null;
    };
    for (const o of sendable) cmd[cmdKey.get(o.key)!] = command(o, ref, notify, deps.now());
    await requests.markSent(memberId, sendable.map((o) => o.key));
    let r;
    try {
      r = await deps.rest.batch(cmd, { halt: true });
    } catch (e) {
      return { done: false, error: (e as Error).message, permanent: false };
    }
    for (const o of sendable) {
      const k = cmdKey.get(o.key)!;
      if (!(k in r.result)) continue;
      const v = r.result[k];
      const id = typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v && typeof v === 'object' ? Number((v as Row).id ?? (v as Row).ID) || null : null;
      await requests.markDone(memberId, o.key, id);
      if (o.op === 'create' && id) created.set(o.ref, id);
    }
    for (const o of chunk.filter((x) => x.op === 'notify')) await requests.markDone(memberId, o.key, null);
    const failed = Object.entries(r.errors)[0];
    if (failed) {
      const op = sendable.find((o) => cmdKey.get(o.key) === failed[0]);
      const what = op ? methodOf(op) : failed[0];
      // the refused command did not happen, nor did the ones `halt` skipped: not sent, as far as a retry is concerned
      await requests.clearOps(memberId, sendable.filter((o) => !(cmdKey.get(o.key)! in r.result)).map((o) => o.key));
      return { done: false, error: `${what}: ${failed[1].error}: ${failed[1].error_description}`, permanent: PERMANENT.has(failed[1].error) };
    }
  }
  return null;
}

/** The link's targets with the refs of created entities resolved (a ref not created is left out). */
function resolvedTargets(d: Apply, created: Created): Array<{ type: CrmEntityType; id: number }> {
  return d.link.targets.flatMap((t): Array<{ type: CrmEntityType; id: number }> => {
    if (!('ref' in t)) return [t];
    const id = created.get(t.ref);
    return id ? [{ type: t.ref, id }] : [];
  });
}

/** Codes that will not go away by themselves (a setting or the portal's data must change first). */
const PERMANENT = new Set(['ACCESS_DENIED', 'OWNER_NOT_FOUND', 'INVALID_ARG_VALUE', 'ERROR_CORE', 'NOT_FOUND', 'ERROR_METHOD_NOT_FOUND', 'insufficient_scope']);

function methodOf(o: Operation): string {
  switch (o.op) {
    case 'create':
      return `crm.${o.ref}.add`;
    case 'update':
      return `crm.${'ref' in o.target ? o.target.ref : o.target.type}.update`;
    case 'comment':
      return 'crm.timeline.comment.add';
    case 'activity':
      return 'crm.activity.todo.add';
    case 'notify':
      return 'notify';
  }
}

const OWNER_TYPE_ID: Record<CrmEntityType, number> = { lead: 1, deal: 2, contact: 3, company: 4 };
const typeOf = (r: EntityRef): CrmEntityType => ('ref' in r ? r.ref : r.type);
const multi = (values: string[]) => values.map((VALUE) => ({ VALUE, VALUE_TYPE: 'WORK' }));

function command(o: Operation, ref: (r: EntityRef) => string | number | null, notify: Extract<Operation, { op: 'notify' }> | undefined, now: number): BatchCall {
  switch (o.op) {
    case 'create': {
      const fields: Row = { ...o.fields, ORIGINATOR_ID: ORIGINATOR, ORIGIN_ID: o.key };
      if (o.responsibleId) fields.ASSIGNED_BY_ID = o.responsibleId;
      if (o.ref === 'contact' && o.contact) {
        fields.NAME = o.contact.name ?? o.contact.phones[0] ?? o.contact.emails[0] ?? '';
        if (o.contact.phones.length) fields.PHONE = multi(o.contact.phones);
        if (o.contact.emails.length) fields.EMAIL = multi(o.contact.emails);
      } else {
        fields.TITLE = o.title ?? '';
      }
      if (o.stage && 'leadStatusId' in o.stage && o.stage.leadStatusId) fields.STATUS_ID = o.stage.leadStatusId;
      if (o.stage && 'dealCategoryId' in o.stage) {
        if (o.stage.dealCategoryId !== null) fields.CATEGORY_ID = o.stage.dealCategoryId;
        if (o.stage.dealStageId) fields.STAGE_ID = o.stage.dealStageId;
      }
      const contact = o.links.contact && ref(o.links.contact);
      const company = o.links.company && ref(o.links.company);
      if (contact) fields.CONTACT_ID = contact;
      if (company) fields.COMPANY_ID = company;
      // «Уведомлять ответственного»: Bitrix24 itself notifies the responsible of an entity created
      // with REGISTER_SONET_EVENT=Y (docs/facts/bitrix24.md#crm-events) — no extra call per notification
      const register = o.ref !== 'contact' && !!notify && notify.entities.some((e) => 'ref' in e && e.ref === o.ref);
      return { method: `crm.${o.ref}.add`, params: { fields, params: { REGISTER_SONET_EVENT: register ? 'Y' : 'N' } } };
    }
    case 'update':
      return { method: `crm.${typeOf(o.target)}.update`, params: { id: ref(o.target), fields: o.fields, params: { REGISTER_SONET_EVENT: 'N' } } };
    case 'comment':
      return { method: 'crm.timeline.comment.add', params: { fields: { ENTITY_ID: ref(o.target), ENTITY_TYPE: typeOf(o.target), COMMENT: o.text } } };
    case 'activity':
      return {
        method: 'crm.activity.todo.add',
        params: {
          ownerTypeId: OWNER_TYPE_ID[typeOf(o.target)],
          ownerId: ref(o.target),
          deadline: new Date(now + TODO_DEADLINE_MS).toISOString(),
          title: o.title,
          description: o.description,
          ...(o.responsibleId ? { responsibleId: o.responsibleId } : {}),
        },
      };
    case 'notify':
      throw new Error('notify is carried by REGISTER_SONET_EVENT');
  }
}
