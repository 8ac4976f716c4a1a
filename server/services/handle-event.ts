import { createHash } from 'node:crypto';
import { uninstallDataSchema, type BitrixEvent } from '../bitrix/event-schemas';
import { verifyApplicationToken } from '../bitrix/verify';
import { unauthorized } from '../domain/errors';
import type { Metrics } from '../metrics';
import { acceptInstall, type AcceptInstallDeps } from './accept-install';
import type { Background } from './background';
import type { AsyncPort } from './async-port';
import type { EventInbox } from './ports';
import { runInstall, type RunInstallDeps } from './run-install';
import { verifyInstallCredentials } from './verify-install-credentials';

export interface HandleEventDeps extends AcceptInstallDeps, RunInstallDeps {
  inbox: AsyncPort<EventInbox>;
  background: Background;
  metrics?: Metrics;
  /** Consumers of verified, first-seen events (analytics, the Open Lines bridge…); answered once it settles. */
  onEvent?: (memberId: string, ev: BitrixEvent) => void | Promise<void>;
}

export type EventOutcome = 'installed' | 'updated' | 'uninstalled' | 'purged' | 'recorded' | 'duplicate';

/**
 * Every Bitrix24 event, after its wire shape was validated: the portal is resolved from
 * auth[member_id] and auth[application_token] compared in constant time before anything else
 * (style.md rule 4). Unknown portal or wrong token → 401 and nothing changes, no REST call.
 * ONAPPINSTALL for a portal we do not know yet is the one exception: it is verified through the
 * OAuth server instead (its auth block carries a refresh token).
 */
export async function handleEvent(deps: HandleEventDeps, ev: BitrixEvent): Promise<EventOutcome> {
  const portal = await deps.portals.get(ev.auth.member_id);
  const tokenOk = !!portal && portal.status !== 'deleted' && verifyApplicationToken(portal.applicationToken, ev.auth.application_token);

  if (ev.event === 'ONAPPINSTALL') {
    if (tokenOk && !ev.auth.refresh_token) return 'installed';
    const claim = requireCredentials(ev);
    const { portal: p } = await acceptInstall(deps, { ...claim, applicationToken: ev.auth.application_token });
    if (p.status !== 'active') deps.background.run('install-plan', () => runInstall(deps, p.memberId));
    return 'installed';
  }

  if (!tokenOk || !portal) throw unauthorized('EVENT_REFUSED', 'Unknown portal or wrong application_token');

  switch (ev.event) {
    case 'ONAPPUNINSTALL': {
      const data = uninstallDataSchema.safeParse(ev.data ?? {});
      if (data.success && data.data.CLEAN === 1) {
        await deps.portals.purge(portal.memberId);
        deps.log.info({ memberId: portal.memberId }, 'app uninstalled with CLEAN=1; portal data purged');
        return 'purged';
      }
      await deps.portals.markDeleted(portal.memberId);
      deps.log.info({ memberId: portal.memberId }, 'app uninstalled; tokens wiped');
      return 'uninstalled';
    }
    case 'ONAPPUPDATE': {
      // Bindings vanish on app update (docs/facts/bitrix24.md#event-delivery): store the fresh tokens, re-run the plan.
      if (ev.auth.refresh_token) {
        const v = await verifyInstallCredentials(deps, requireCredentials(ev));
        await deps.portals.saveTokens(portal.memberId, v.tokens, { clientEndpoint: v.clientEndpoint, domain: v.domain });
      }
      deps.background.run('install-plan', () => runInstall(deps, portal.memberId));
      return 'updated';
    }
    default: {
      const dedupeKey = deliveryKey(ev);
      const fresh = await deps.inbox.record({ memberId: portal.memberId, event: ev.event, data: ev.data ?? null, ts: ev.ts ?? null, dedupeKey });
      if (fresh) await deps.onEvent?.(portal.memberId, ev);
      return fresh ? 'recorded' : 'duplicate';
    }
  }
}

/**
 * What identifies one occurrence of an event (docs/facts/bitrix24.md#event-delivery): the queue stamps every delivery
 * with `ts` (unix seconds, taken when the portal queued it) next to `data`. Two deliveries of one
 * occurrence — a second binding of our handler (another `event_handler_id`), a resent request —
 * share event, ts and data; the same change made again later (a line disconnected, reconnected and
 * disconnected again) has another `ts` and is a new event. `event_handler_id` is left out on
 * purpose. The inbox remembers keys for a bounded window only (storage/event-inbox.ts). The offline
 * twins of the events that have them (messages, leads, deals) carry no `ts`: their consumers
 * collapse them by what they name (Bitrix24 message id, entity id).
 */
export function deliveryKey(ev: Pick<BitrixEvent, 'event' | 'ts' | 'data'>): string {
  return createHash('sha256').update(`${ev.event}|${ev.ts ?? ''}|${JSON.stringify(ev.data ?? null)}`).digest('hex');
}

function requireCredentials(ev: BitrixEvent) {
  const { refresh_token, server_endpoint } = ev.auth;
  if (!refresh_token || !server_endpoint) throw unauthorized('EVENT_REFUSED', `${ev.event} without verifiable credentials`);
  return { memberId: ev.auth.member_id, refreshToken: refresh_token, serverEndpoint: server_endpoint, domain: ev.auth.domain };
}
