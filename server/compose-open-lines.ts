import type { Clock } from './domain/clock';
import type { Logger } from './logging';
import type { BitrixGateway, UisEndpoints, UisLinkRepository } from './services/ports';
import type { UisChannelRepository } from './services/workspace-ports';
import type { AsyncPort } from './services/async-port';
import type { BridgeRepository } from './services/bridge/ports';
import type { OpenLinesRepository } from './services/open-lines/ports';
import type { UisProject } from './contracts/uis';
import { createOpenLinesWorker, type OpenLinesWorkerOptions } from './services/open-lines/worker';
import { takeOpenLineEntity } from './services/open-lines/on-event';

/**
 * «Открытые линии» (issue #16) wired: the tab's storage, the worker writing «Доп. поля» into the
 * leads and deals Open Lines create from UIS chats, and its share of the lead/deal offline queue
 * (`leadDealConsumer`, handed to the analytics worker, which polls that queue for both).
 */
export function createOpenLines(o: {
  openLines: OpenLinesRepository;
  clock: Clock;
  gateway: BitrixGateway;
  links: AsyncPort<UisLinkRepository>;
  bridge: AsyncPort<BridgeRepository>;
  channels: AsyncPort<UisChannelRepository>;
  uisEndpoints(project: UisProject): UisEndpoints;
  log: Logger;
  fetch?: typeof fetch;
  options?: OpenLinesWorkerOptions;
}) {
  const openLines = o.openLines;
  const openLinesWorker = createOpenLinesWorker(
    { openLines, gateway: o.gateway, links: o.links, bridge: o.bridge, channels: o.channels, uisEndpoints: o.uisEndpoints, clock: o.clock, log: o.log, fetch: o.fetch },
    o.options,
  );
  const intake = { openLines, openLinesWorker, clock: o.clock };
  const leadDealConsumer = { portals: () => openLines.enabledPortals(), take: (memberId: string, type: 'lead' | 'deal', id: number) => takeOpenLineEntity(intake, memberId, type, id) };
  return { openLines, openLinesWorker, leadDealConsumer };
}
