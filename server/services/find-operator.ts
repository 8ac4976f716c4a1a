import { AppError } from '../domain/errors';
import type { UisLink } from '../domain/uis-link';
import { portalFailure, uisFailure } from './workspace-errors';
import type { WorkspaceDeps } from './workspace-ports';
import { readLinkEmployees, type UisEmployeeRecord } from './uis-employees';

export interface Operator {
  id: number;
  name: string;
}

type Row = Record<string, unknown>;

const TTL_MS = 10 * 60_000;
const MISS_TTL_MS = 60_000;
const cache = new WeakMap<object, Map<string, { op: Operator | AppError; until: number }>>();

/**
 * The UIS employee a Bitrix24 user acts as: the one the employee sync paired him with, else the
 * one with his e-mail. The user's e-mail is read with
 * the portal's stored token (`user.get {ID}`, docs/facts/bitrix24.md#users-notifications) — never taken from the page —
 * and compared with Data API `get.employees` (the documented source of valid `operator_id`s,
 * docs/facts/uis.md#data-api-methods). A match must be allowed to chat (`operator.operator_chat_enabled`).
 * Matches are cached for 10 minutes per portal, user and account. A miss is remembered for a
 * minute for callers that only decorate a link (`reuseMiss`); starting a chat always asks again,
 * so a fixed e-mail in UIS works at once.
 * @throws AppError OPERATOR_EMAIL_MISSING, OPERATOR_NOT_FOUND, OPERATOR_NOT_ALLOWED (409), or the
 *   portal / UIS failure.
 */
export async function findOperator(deps: WorkspaceDeps, link: UisLink, userId: number, o: { reuseMiss?: boolean } = {}): Promise<Operator> {
  let perDeps = cache.get(deps.links);
  if (!perDeps) cache.set(deps.links, (perDeps = new Map()));
  // a new pairing by the employee sync takes effect at once: it is part of the key
  const mapped = (await deps.employees?.uisEmployeeFor(link.memberId, userId)) ?? null;
  const key = `${link.memberId}:${userId}:${link.accountId}:${mapped ?? ''}`;
  const hit = perDeps.get(key);
  if (hit && hit.until > deps.clock.now()) {
    if (!(hit.op instanceof AppError)) return hit.op;
    if (o.reuseMiss) throw hit.op;
  }
  if (perDeps.size > 10_000) perDeps.clear();
  try {
    const op = await lookup(deps, link, userId, mapped);
    perDeps.set(key, { op, until: deps.clock.now() + TTL_MS });
    return op;
  } catch (e) {
    if (e instanceof AppError && e.code.startsWith('OPERATOR_')) perDeps.set(key, { op: e, until: deps.clock.now() + MISS_TTL_MS });
    throw e;
  }
}

/** `mapped`: the employee the sync paired the user with (by e-mail, by name, or by creating him), if any. */
async function lookup(deps: WorkspaceDeps, link: UisLink, userId: number, mapped: number | null): Promise<Operator> {
  const email = mapped === null ? await bitrixEmail(deps, link.memberId, userId) : null;
  let employees: UisEmployeeRecord[];
  try {
    employees = await readLinkEmployees(deps.dataApi, link);
  } catch (e) {
    throw uisFailure(e, 'UIS_DATA_API_REFUSED', 'UIS did not list the account employees');
  }
  const byEmail = (address: string) => employees.find((r) => r.email !== null && r.email.trim().toLowerCase() === address);
  // a mapped employee removed from UIS since the sync: back to the e-mail match
  const match = (mapped !== null && employees.find((r) => r.id === mapped)) || byEmail(email ?? (await bitrixEmail(deps, link.memberId, userId)));
  if (!match) {
    throw new AppError(
      'OPERATOR_NOT_FOUND',
      `No employee of the UIS account has the e-mail ${email ?? 'of your Bitrix24 profile'}; ask an administrator to give your UIS employee the same e-mail or to run the employee sync`,
      409,
    );
  }
  if (!match.chatEnabled) {
    throw new AppError('OPERATOR_NOT_ALLOWED', `The UIS employee ${String(match.fullName ?? email)} may not take part in chats; an administrator enables chats for them in UIS`, 409);
  }
  return { id: match.id, name: String(match.fullName ?? email) };
}

async function bitrixEmail(deps: WorkspaceDeps, memberId: string, userId: number): Promise<string> {
  let users: Row[];
  try {
    users = (await deps.gateway.client(memberId).call<Row[]>('user.get', { ID: userId })).result;
  } catch (e) {
    throw portalFailure(e, 'return your profile');
  }
  const email = Array.isArray(users) ? users.find((u) => Number(u.ID) === userId)?.EMAIL : undefined;
  if (typeof email !== 'string' || !email.trim()) {
    throw new AppError('OPERATOR_EMAIL_MISSING', 'Your Bitrix24 profile has no e-mail, so no UIS employee can be matched to you', 409);
  }
  return email.trim().toLowerCase();
}
