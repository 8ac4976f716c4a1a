// The relay context: what the inbound relay, the outbound relay and the status/follow-up jobs of
// the bridge worker share (dependencies, repository, logger, options) and the retry/failure helpers
// (`later`, `markFailed`, `notice`). Built once per worker by `createRelayContext`.
import type { Logger } from '../../logging';
import type { BridgeJob, BridgeRepository } from './ports';
import type { BridgeWorkerDeps, BridgeWorkerOptions } from './worker';

export type Row = Record<string, unknown>;

export interface RelayContext {
  deps: BridgeWorkerDeps;
  repo: BridgeRepository;
  log: Logger;
  /** Items per imconnector.send.messages call. */
  itemsPerCall: number;
  /** Retry the job later (backoff by attempts, or after `delayMs`); gives up after the maximum attempts. */
  later(job: BridgeJob, reason: string, delayMs?: number): void;
  markFailed(job: BridgeJob, reason: string): void;
  errText(e: unknown): string;
  /** A failure the operator must see: a notice in the open-line chat (its echo is ignored). */
  notice(memberId: string, job: BridgeJob, reason: string): void;
}

export const errText = (e: unknown) => (e instanceof Error ? `${(e as { code?: string }).code ?? e.name}: ${e.message}` : String(e));

export function createRelayContext(deps: BridgeWorkerDeps, o: BridgeWorkerOptions = {}): RelayContext {
  const maxAttempts = o.maxAttempts ?? 12;
  const itemsPerCall = o.itemsPerCall ?? 50;
  const log = deps.log.child({ component: 'bridge' });
  const repo = deps.bridge;

  const backoff = (attempts: number) => Math.min(10 * 60_000, 1_000 * 2 ** Math.min(attempts, 10));
  const later = (job: BridgeJob, reason: string, delayMs?: number) => {
    const attempts = job.attempts + 1;
    if (attempts >= maxAttempts && delayMs === undefined) {
      repo.fail(job.id, `gave up after ${attempts} attempts: ${reason}`);
      markFailed(job, reason);
      return;
    }
    repo.retry(job.id, delayMs === undefined ? attempts : job.attempts, deps.clock.now() + (delayMs ?? backoff(attempts)), reason);
  };
  const markFailed = (job: BridgeJob, reason: string) => {
    if (job.kind === 'in') repo.updateLink(job.memberId, 'uis', String(job.payload.messageId), { state: 'failed', error: reason });
    if (job.kind === 'out') repo.updateLink(job.memberId, 'b24', String(job.payload.b24MessageId), { state: 'failed', error: reason });
  };

  /** A failure the operator must see: a notice in the open-line chat (its echo is ignored). */
  function notice(memberId: string, job: BridgeJob, reason: string): void {
    repo.enqueue({ memberId, kind: 'notice', chatKey: `n:${String(job.payload.b24ChatId)}`, idemKey: `err:${String(job.payload.b24MessageId)}`, dueAt: deps.clock.now(), payload: { b24MessageId: String(job.payload.b24MessageId), reason } });
  }

  return { deps, repo, log, itemsPerCall, later, markFailed, errText, notice };
}
