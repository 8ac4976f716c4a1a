import { CONNECTOR_ID } from '../../../install/plan';
import { escapeBbcode } from '../../domain/bbcode';
import type { AsyncPort } from '../async-port';
import type { BitrixGateway } from '../ports';
import { externalUserId } from './identity';
import type { BridgeJob, BridgeRepository } from './ports';

type Row = Record<string, unknown>;

export interface EditDeps {
  bridge: AsyncPort<BridgeRepository>;
  gateway: BitrixGateway;
  now(): number;
  later(job: BridgeJob, reason: string, delayMs?: number): Promise<void>;
}

/**
 * An edit UIS reported for a client message already in the open line (v2 `PATCH /message`) →
 * `imconnector.update.messages` with the same external ids (docs/facts/bitrix24.md#imconnector-send). The other
 * direction has no counterpart: the UIS runtime API has no message edit or delete
 * (docs/facts/uis.md#runtime-api), so Bitrix24 edits/deletions of operator messages cannot reach the client.
 */
export async function runUpdate(deps: EditDeps, memberId: string, job: BridgeJob): Promise<void> {
  const p = job.payload;
  const repo = deps.bridge;
  const chat = await repo.chat(memberId, String(p.uisChatId));
  const l = await repo.link(memberId, 'uis', String(p.messageId));
  if (!chat?.visitorId || !chat.lineId || !l) return repo.fail(job.id, 'the message is not in an open line');
  if (l.state !== 'relayed') return deps.later(job, 'the original message is not in the open line yet', 2_000);
  try {
    const r = await deps.gateway.client(memberId).call<Row>('imconnector.update.messages', {
      CONNECTOR: CONNECTOR_ID,
      LINE: chat.lineId,
      MESSAGES: [{ user: { id: externalUserId(chat.visitorId) }, message: { id: String(p.messageId), text: escapeBbcode(String(p.text)) }, chat: { id: chat.extChatId } }],
    });
    const item = ((((r.result.DATA ?? {}) as Row).RESULT ?? []) as Row[])[0] ?? {};
    if (item.SUCCESS === false) return repo.fail(job.id, `Bitrix24 refused the edit: ${JSON.stringify(item.ERRORS ?? item)}`);
    await repo.complete(job.id);
  } catch (e) {
    await deps.later(job, `imconnector.update.messages: ${e instanceof Error ? e.message : String(e)}`);
  }
}
