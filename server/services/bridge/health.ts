import type { BridgeHealth } from '../../contracts/uis';
import type { UisLinkRepository } from '../ports';
import type { UisChannelRepository } from '../workspace-ports';
import type { AsyncPort } from '../async-port';
import type { BridgeRecoveryRepository, BridgeRepository } from './ports';

const statusOf = (s: string | null | undefined): BridgeHealth['accountStatus'] =>
  s === 'active' || s === 'disabled' || s === 'removed' ? s : s === null || s === undefined ? 'active' : 'unknown';

/**
 * The main page's view of the bridge (issue #11): the connection and the bound channels UIS has
 * disabled or removed, and what the reconcile and the loss audit found. Null when not linked.
 */
export async function bridgeHealth(
  deps: { links: AsyncPort<UisLinkRepository>; bridge: AsyncPort<BridgeRepository>; channels: AsyncPort<UisChannelRepository>; recovery: AsyncPort<BridgeRecoveryRepository> },
  memberId: string,
): Promise<BridgeHealth | null> {
  const link = await deps.links.get(memberId);
  if (!link?.connectionId) return null;
  const channels: BridgeHealth['channels'] = [];
  for (const b of await deps.bridge.bindings(memberId)) {
    const ch = await deps.channels.get(memberId, b.channelId);
    const status = statusOf(ch?.status ?? 'unknown');
    if (status === 'active') continue;
    channels.push({ channelId: b.channelId, name: ch?.name ?? b.channelId, type: ch?.type ?? '', lineId: b.lineId, status });
  }
  const c = await deps.recovery.counters(memberId);
  return {
    accountStatus: statusOf(await deps.recovery.connectionStatus(memberId, link.connectionId)),
    channels,
    recovered: c.recovered,
    repaired: c.repaired,
    lastReconcileAt: c.lastReconcileAt,
    lastAuditAt: c.lastAuditAt,
    lastRepairAt: c.lastRepairAt,
    lastError: c.lastError,
  };
}
