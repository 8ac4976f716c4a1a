import { INSTALL_STEPS } from '../../install/plan';
import { runInstallPlan, type StepReport } from '../../install/steps';
import type { Clock } from '../domain/clock';
import type { Logger } from '../logging';
import type { AsyncPort } from './async-port';
import type { BitrixGateway, PortalRepository } from './ports';

export interface RunInstallDeps {
  /** the install plan's «lines» step: external lines for the linked UIS account's numbers */
  installLines?(memberId: string): Promise<'skipped' | 'present' | 'created' | 'updated'>;
  portals: AsyncPort<PortalRepository>;
  gateway: BitrixGateway;
  appUrl: string;
  log: Logger;
  clock: Clock;
}

const running = new WeakMap<RunInstallDeps, Map<string, Promise<boolean>>>();

/**
 * Runs the install plan on a portal with its stored (administrator's) tokens. Runs of one
 * portal are serialised, so two admins or a page retry during ONAPPUPDATE never interleave
 * their check-then-bind steps. On success the portal becomes active.
 */
export async function runInstall(deps: RunInstallDeps, memberId: string, report: (r: StepReport) => void = () => {}): Promise<boolean> {
  let perPortal = running.get(deps);
  if (!perPortal) running.set(deps, (perPortal = new Map()));
  const previous = perPortal.get(memberId) ?? Promise.resolve(true);
  const run = previous.catch(() => false).then(() => runOnce(deps, memberId, report));
  perPortal.set(memberId, run);
  try {
    return await run;
  } finally {
    if (perPortal.get(memberId) === run) perPortal.delete(memberId);
  }
}

async function runOnce(deps: RunInstallDeps, memberId: string, report: (r: StepReport) => void): Promise<boolean> {
  const log = deps.log.child({ memberId });
  const ok = await runInstallPlan(INSTALL_STEPS, deps.gateway.client(memberId), deps.appUrl, (r) => {
    if (r.status === 'failed') log.warn({ step: r.id, code: r.error?.code }, 'install step failed');
    report(r);
  }, { lines: deps.installLines ? () => deps.installLines!(memberId) : undefined });
  // one statement: a pair rotated or an uninstall while it runs is not overwritten by a stale read
  if (ok && (await deps.portals.markInstalled(memberId, new Date(deps.clock.now()).toISOString()))) {
    log.info('install plan complete; portal active');
  }
  return ok;
}
