import { refusedForSession, type UploadChatItem, type UploadRequestItem } from '../../domain/analytics-pipeline';
import type { DataApiClient } from '../../uis/data-api';
import { UisApiError } from '../../uis/errors';

/**
 * The upload step of the analytics pipeline, shared by every source: up to 50 items per call
 * (`upload.chats` or `upload.offline_messages`, docs/facts/uis.md#upload-chats). UIS validates the whole call and
 * refuses it at the first bad item, naming it in `data.field` (`chats.3.phone`): that item gets
 * its reason and the rest go again. A refusal of the item's visitor session (unknown, more than 180
 * days older, later than the conversation) may instead re-attribute it with the fallback when the
 * source allows (`withoutSession`). A transient failure leaves every item for later.
 */
export const MAX_UPLOAD = 50;

export type UploadItem = UploadChatItem | UploadRequestItem;

export interface UploadEntry<K> {
  key: K;
  item: UploadItem;
  attribution: string;
}

export interface UploadOutcome<K> {
  uploaded(e: UploadEntry<K>, uisId: number | null): void | Promise<void>;
  refused(e: UploadEntry<K>, reason: string): void | Promise<void>;
  later(e: UploadEntry<K>, reason: string): void | Promise<void>;
  /** The same conversation attributed without its session, or null to refuse it as it is. */
  withoutSession?(e: UploadEntry<K>, why: string): UploadEntry<K> | null;
}

export async function uploadInBatches<K>(api: DataApiClient, kind: 'chat' | 'request', entries: Array<UploadEntry<K>>, out: UploadOutcome<K>): Promise<number> {
  let calls = 0;
  for (let i = 0; i < entries.length; i += MAX_UPLOAD) calls += await uploadOne(api, kind, entries.slice(i, i + MAX_UPLOAD), out);
  return calls;
}

async function uploadOne<K>(api: DataApiClient, kind: 'chat' | 'request', batch: Array<UploadEntry<K>>, out: UploadOutcome<K>): Promise<number> {
  const [method, param] = kind === 'chat' ? ['upload.chats', 'chats'] : ['upload.offline_messages', 'offline_messages'];
  let pending = batch;
  let calls = 0;
  while (pending.length) {
    let data: unknown;
    try {
      calls++;
      data = (await api.call(method, { [param]: pending.map((p) => p.item) })).data;
    } catch (e) {
      if (e instanceof UisApiError && !e.transient) {
        const idx = new RegExp(`^${param}\\.(\\d+)`).exec(e.field ?? '')?.[1];
        const bad = idx === undefined ? undefined : pending[Number(idx)];
        if (bad) {
          const why = `${e.code} ${e.field}: ${e.message}`;
          const again = out.withoutSession && refusedForSession(e.field, e.code, bad.item) ? out.withoutSession(bad, why) : null;
          if (again) pending = pending.map((p) => (p === bad ? again : p));
          else {
            await out.refused(bad, `UIS_REJECTED ${why}`);
            pending = pending.filter((p) => p !== bad);
          }
          continue;
        }
        for (const p of pending) await out.refused(p, `UIS_REJECTED ${e.code}: ${e.message}`);
        return calls;
      }
      for (const p of pending) await out.later(p, `${method}: ${(e as Error).message}`);
      return calls;
    }
    const ids = Array.isArray(data) ? (data as Array<{ id?: unknown }>) : [];
    for (const [i, p] of pending.entries()) await out.uploaded(p, typeof ids[i]?.id === 'number' ? (ids[i]!.id as number) : null);
    return calls;
  }
  return calls;
}
