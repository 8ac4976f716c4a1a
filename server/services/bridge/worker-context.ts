// The relay context: what the inbound relay, the outbound relay and the status/follow-up jobs of
// the bridge worker share (dependencies, repository, logger, options) and the retry/failure helpers
// (`later`, `markFailed`, `notice`). Built once per worker by `createRelayContext`.
import type { UisProject } from '../../contracts/uis';
import { backoffDelay } from '../../domain/backoff';
import type { Clock } from '../../domain/clock';
import type { Logger } from '../../logging';
import type { EmployeeDirectory } from '../employee-sync/ports';
import type { BitrixGateway, UisEndpoints, UisLinkRepository } from '../ports';
import type { WorkspaceAdapters } from '../workspace-ports';
import type { FileSigner } from './file-links';
import type { AsyncPort } from '../async-port';
import type { BridgeJob, BridgeRepository } from './ports';

export type Row = Record<string, unknown>;

export interface BridgeWorkerDeps {
  bridge: AsyncPort<BridgeRepository>;
  gateway: BitrixGateway;
  links: AsyncPort<UisLinkRepository>;
  workspace: WorkspaceAdapters;
  /** The employee sync's pairing, both ways (operator lookups, workspace replies shown in the open line), before the e-mail match. */
  employees?: AsyncPort<EmployeeDirectory>;
  uisEndpoints(project: UisProject): UisEndpoints;
  files: FileSigner;
  clock: Clock;
  log: Logger;
  fetch?: typeof fetch;
}

export interface BridgeWorkerOptions {
  /**
   * Wait this long after the first callback of a burst before relaying (default 10 ms): callbacks of
   * one chat that arrive reordered within it go out in UIS order, and a burst shares its first call.
   * It is the added latency on an idle portal, so it is short; later calls batch by themselves
   * (whatever arrives while a call is in flight or the portal's bucket is empty travels together).
   */
  gatherMs?: number;
  maxAttempts?: number;
  /** Items per imconnector.send.messages call (default 50). */
  itemsPerCall?: number;
  /** Done jobs and UIS inbox rows older than this are deleted (default 7 days; checked hourly). */
  retentionMs?: number;
}

export interface RelayContext {
  deps: BridgeWorkerDeps;
  repo: AsyncPort<BridgeRepository>;
  log: Logger;
  /** Items per imconnector.send.messages call. */
  itemsPerCall: number;
  /** Retry the job later (backoff by attempts, or after `delayMs`); gives up after the maximum attempts. */
  later(job: BridgeJob, reason: string, delayMs?: number): Promise<void>;
  markFailed(job: BridgeJob, reason: string): Promise<void>;
  errText(e: unknown): string;
  /** A failure the operator must see: a notice in the open-line chat (its echo is ignored). */
  notice(memberId: string, job: BridgeJob, reason: string): Promise<void>;
}

export const errText = (e: unknown) => (e instanceof Error ? `${(e as { code?: string }).code ?? e.name}: ${e.message}` : String(e));

export function createRelayContext(deps: BridgeWorkerDeps, o: BridgeWorkerOptions = {}): RelayContext {
  const maxAttempts = o.maxAttempts ?? 12;
  const itemsPerCall = o.itemsPerCall ?? 50;
  const log = deps.log.child({ component: 'bridge' });
  const repo = deps.bridge;

  const backoff = (attempts: number) => backoffDelay({ baseMs: 1_000, capMs: 10 * 60_000, maxExponent: 10 }, attempts);
  const later = async (job: BridgeJob, reason: string, delayMs?: number): Promise<void> => {
    const attempts = job.attempts + 1;
    if (attempts >= maxAttempts && delayMs === undefined) {
      await repo.fail(job.id, `gave up after ${attempts} attempts: ${reason}`);
      await markFailed(job, reason);
      return;
    }
    await repo.retry(job.id, delayMs === undefined ? attempts : job.attempts, deps.clock.now() + (delayMs ?? backoff(attempts)), reason);
  };
  const markFailed = async (job: BridgeJob, reason: string): Promise<void> => {
    if (job.kind === 'in') await repo.updateLink(job.memberId, 'uis', String(job.payload.messageId), { state: 'failed', error: reason });
    if (job.kind === 'out') await repo.updateLink(job.memberId, 'b24', String(job.payload.b24MessageId), { state: 'failed', error: reason });
  };

  /** A failure the operator must see: a notice in the open-line chat (its echo is ignored). */
  async function notice(memberId: string, job: BridgeJob, reason: string): Promise<void> {
    await repo.enqueue({ memberId, kind: 'notice', chatKey: `n:${String(job.payload.b24ChatId)}`, idemKey: `err:${String(job.payload.b24MessageId)}`, dueAt: deps.clock.now(), payload: { b24MessageId: String(job.payload.b24MessageId), reason } });
  }

  return { deps, repo, log, itemsPerCall, later, markFailed, errText, notice };
}
