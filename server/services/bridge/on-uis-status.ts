import type { UisLink } from '../../domain/uis-link';
import type { UisCallback } from '../../uis/callback-schemas';
import { step, type MaybeAsync, type Step } from '../maybe-async';
import type { UisCallbackHandler } from '../ports';
import type { BridgeRecoveryRepository, BridgeRepository } from './ports';

export interface StatusCallbackDeps {
  bridge: MaybeAsync<BridgeRepository>;
  recovery: MaybeAsync<BridgeRecoveryRepository>;
  /** Reconcile the portal soon (after the callback's transaction). */
  reconcileSoon(memberId: string): void;
}

/**
 * Channel and connection changes UIS reports (Chat API «Изменение канала» PATCH `/channel/{id}`,
 * «Изменение аккаунта» PATCH `/account/{id}` with the whole Account, POST and DELETE too; issue #11
 * item 3). The connection's status is kept (the channels' is kept by track-uis-channels.ts). While
 * UIS has a bound channel or the connection disabled, no callback comes for it and the reconcile
 * leaves it alone; when it is active again the reconcile runs at once and relays, from the Data API
 * report, what clients wrote meanwhile.
 */
export function bridgeStatusCallbacks(inner: UisCallbackHandler, deps: StatusCallbackDeps): UisCallbackHandler {
  return {
    *handle(link: UisLink, cb: UisCallback): Step<void> {
      yield* inner.handle(link, cb);
      const memberId = link.memberId;
      if (cb.route === 'POST /account' || cb.route === 'PATCH /account' || cb.route === 'DELETE /account') {
        const connectionId = cb.body.id ?? cb.pathId ?? link.connectionId;
        if (!connectionId) return;
        const status = cb.route === 'DELETE /account' ? 'removed' : (cb.body.status ?? 'active');
        yield* step(deps.recovery.setConnection(memberId, connectionId, { name: cb.body.name ?? null, status }));
        if (status === 'active' && connectionId === link.connectionId && (yield* step(deps.bridge.bindings(memberId))).length) deps.reconcileSoon(memberId);
        return;
      }
      if (cb.route === 'PATCH /channel' || cb.route === 'POST /channel') {
        const channelId = cb.body.id ?? cb.pathId;
        if (channelId && (cb.body.status ?? 'active') === 'active' && (yield* step(deps.bridge.bindingByChannel(memberId, channelId)))) deps.reconcileSoon(memberId);
      }
    },
  };
}
