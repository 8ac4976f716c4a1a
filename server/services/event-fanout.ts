import type { BitrixEvent } from '../bitrix/event-schemas';
import type { Logger } from '../logging';
import { enqueueAnalyticsFromEvent } from './analytics/on-event';
import { onBridgeEvent, type BridgeEventDeps } from './bridge/on-bitrix-event';
import { bridgeUisCallbacks, type BridgeCallbackDeps } from './bridge/on-uis-callback';
import { bridgeStatusCallbacks, type StatusCallbackDeps } from './bridge/on-uis-status';
import { crmRulesUisCallbacks, type CrmCallbackDeps } from './crm-rules/on-uis-callback';
import { enqueueOpenLineFieldsFromEvent, type OpenLineFieldsIntake } from './open-lines/on-event';
import type { MaybeAsync } from './maybe-async';
import type { UisCallbackHandler, UisInbox } from './ports';
import { createUisCallbackRecorder } from './record-uis-callback';
import { trackUisChannels } from './track-uis-channels';
import type { UisChannelRepository } from './workspace-ports';

/**
 * Who hears a verified, first-seen Bitrix24 event (handle-event.ts `onEvent`), in this order:
 * analytics (ONCRMLEADADD / ONCRMDEALADD → a durable job), the «Открытые линии» tab's «Доп. поля»
 * (the same events), the Open Lines bridge (imconnector events): a failure of one is logged, the
 * others still run. Each consumer ignores the events it does not follow.
 */
export interface BitrixEventFanoutDeps {
  log: Logger;
  analytics: Parameters<typeof enqueueAnalyticsFromEvent>[0];
  openLines: OpenLineFieldsIntake;
  bridge: BridgeEventDeps;
  /** «Телефония» II: ONEXTERNALCALLSTART / ONEXTERNALCALLBACKSTART → a UIS Call API session (issue #14) */
  telephonyStarts?: { onEvent(memberId: string, ev: BitrixEvent): Promise<void> };
  /** «Переадресация на персонального менеджера» (issue #14): ONCRM{CONTACT,COMPANY,LEAD,DEAL}* → the item read again */
  personalManager?: { onEvent(memberId: string, ev: BitrixEvent): Promise<void> };
}

export function bitrixEventFanout(deps: BitrixEventFanoutDeps): (memberId: string, ev: BitrixEvent) => Promise<void> {
  const { log } = deps;
  return async (memberId, ev) => {
    if (ev.event === 'ONEXTERNALCALLSTART' || ev.event === 'ONEXTERNALCALLBACKSTART') {
      // the employee waits for his phone to ring: started before the event is answered, nothing else hears it
      await deps.telephonyStarts?.onEvent(memberId, ev).catch((e: unknown) => log.error({ err: e, memberId, event: ev.event }, 'call start failed'));
      return;
    }
    await deps.personalManager?.onEvent(memberId, ev).catch((e: unknown) => log.error({ err: e, memberId, event: ev.event }, 'personal-manager intake failed'));
    await enqueueAnalyticsFromEvent(deps.analytics, memberId, ev).catch((e: unknown) => log.error({ err: e, memberId, event: ev.event }, 'analytics intake failed'));
    await enqueueOpenLineFieldsFromEvent(deps.openLines, memberId, ev).catch((e: unknown) => log.error({ err: e, memberId, event: ev.event }, 'open-line fields intake failed'));
    try {
      await onBridgeEvent(deps.bridge, memberId, ev);
    } catch (e) {
      log.error({ err: e, memberId, event: ev.event }, 'bridge event handling failed');
    }
  };
}

/**
 * Who hears a UIS Chat API callback (after the listener verified and parsed it), in this order:
 * the durable inbox record, the channel list (`/channel` callbacks), the bridge's inbound relay,
 * the bridge's channel/account status follower, the CRM rules («Чаты»). Each handler calls the
 * inner one first; the result is what the callback intake commits in groups. Built over the
 * synchronous SQLite repositories for the intake (callback-intake.ts, `runSync`), or over
 * PostgreSQL stores of one transaction (`pgStores(trx, …)`, driven by `runAsync`).
 */
export interface UisCallbackFanoutDeps {
  inbox: MaybeAsync<UisInbox>;
  channels: MaybeAsync<UisChannelRepository>;
  bridge: BridgeCallbackDeps;
  bridgeStatus: StatusCallbackDeps;
  crmRules: CrmCallbackDeps;
}

export function uisCallbackFanout(deps: UisCallbackFanoutDeps): UisCallbackHandler {
  const recorded = createUisCallbackRecorder(deps.inbox);
  const tracked = trackUisChannels(recorded, deps.channels);
  const bridged = bridgeStatusCallbacks(bridgeUisCallbacks(tracked, deps.bridge), deps.bridgeStatus);
  return crmRulesUisCallbacks(bridged, deps.crmRules);
}
