/**
 * What each source's webhook does to the durable item of a conversation (pure; the storage
 * applies the decision in one transaction). Webhooks come duplicated, late and out of order, so
 * each carries a version, and only a newer one changes anything.
 *
 * - Jivo `chat_finished` (and `offline_message`): the version grows with the transcript (last
 *   message time, then message count). A newer copy replaces the stored conversation; if it was
 *   uploaded already it goes again under the same ext_id (UIS updates it).
 * - amoCRM «Беседа изменена»: fires on every change of a talk (read, assigned, closed, rated…)
 *   with `updated_at` as the version. A talk is processed once it closes (`is_in_work` 0). After
 *   that, further changes of the closed talk (a rating, a read mark) do nothing; only a reopening
 *   (`is_in_work` 1, newer) followed by a new close makes it go again.
 */
export type ItemStatus = 'pending' | 'open' | 'waiting' | 'uploaded' | 'skipped' | 'failed';

export interface ItemState {
  status: ItemStatus;
  version: number;
  reopened: boolean;
}

/** null: nothing to write (a duplicate, a stale copy, a change that does not matter). */
export type ItemDecision = { status: ItemStatus; version: number; reopened: boolean; replacePayload: boolean } | null;

const FINAL: ItemStatus[] = ['uploaded', 'skipped', 'failed'];

export function decideJivoItem(row: ItemState | null, version: number): ItemDecision {
  if (!row) return { status: 'pending', version, reopened: false, replacePayload: true };
  if (version <= row.version) return null;
  return { status: 'pending', version, reopened: false, replacePayload: true };
}

export function decideAmoTalk(row: ItemState | null, hook: { updatedAt: number; inWork: boolean }): ItemDecision {
  if (!row) return hook.inWork ? null : { status: 'pending', version: hook.updatedAt, reopened: false, replacePayload: true };
  if (hook.updatedAt <= row.version) return null;
  const final = FINAL.includes(row.status);
  if (hook.inWork) return { status: row.status, version: hook.updatedAt, reopened: final || row.reopened, replacePayload: false };
  if (final) return row.reopened ? { status: 'pending', version: hook.updatedAt, reopened: false, replacePayload: true } : { status: row.status, version: hook.updatedAt, reopened: false, replacePayload: false };
  return { status: 'pending', version: hook.updatedAt, reopened: false, replacePayload: true };
}
