import { createAmoGateway } from './amocrm/client';
import type { AmoOAuthConfig } from './amocrm/oauth';
import type { UisProject } from './contracts/uis';
import type { Clock } from './domain/clock';
import type { Logger } from './logging';
import { amoRedirectUri, type ChatSourcesDeps } from './services/chat-sources/deps';
import type { RunLease } from './services/job-loop';
import { createChatSourcesWorker, type ChatSourcesWorker, type ChatSourcesWorkerOptions } from './services/chat-sources/worker';
import type { AsyncPort } from './services/async-port';
import type { AnalyticsRepository, UisLinkRepository } from './services/ports';
import type { AmoPacingStore } from './amocrm/client';
import type { AmoAccountRepository, ChatSourceRepository } from './services/chat-sources/ports';
import type { UisEndpoints } from './uis/endpoints';

/** The amoCRM integration of this installation: its id and secret, and which hosts are amoCRM. */
export interface AmoCredentials {
  clientId: string;
  clientSecret: string;
  /** amoCRM domains (`amocrm.ru`: its subdomains) or origins (an emulator) trusted with the secret */
  trustedHosts: string[];
}

/**
 * «Источники чатов» (issue #15) for the composition root: the repositories, the amoCRM gateway
 * (tokens from the store, paced per host), the services' deps and the worker.
 */
export function createChatSources(o: {
  sources: ChatSourceRepository;
  amoAccounts: AmoAccountRepository;
  amoPacing: AmoPacingStore;
  clock: Clock;
  log: Logger;
  fetch?: typeof fetch;
  appUrl: string;
  stateSecret: string;
  amo: AmoCredentials | null;
  analytics: AsyncPort<AnalyticsRepository>;
  links: AsyncPort<UisLinkRepository>;
  uisEndpoints(project: UisProject): UisEndpoints;
  worker?: ChatSourcesWorkerOptions;
  /** the cluster's portal leases (issue #12; gateway.leases) */
  lease?: RunLease;
}): { deps: ChatSourcesDeps; worker: ChatSourcesWorker } {
  const { sources, amoAccounts } = o;
  const amoOAuth: AmoOAuthConfig | null = o.amo ? { clientId: o.amo.clientId, clientSecret: o.amo.clientSecret, redirectUri: amoRedirectUri(o.appUrl), trustedHosts: o.amo.trustedHosts } : null;
  const amo = createAmoGateway({
    store: amoAccounts,
    oauth: amoOAuth ?? { clientId: '', clientSecret: '', redirectUri: '', trustedHosts: [] },
    clock: o.clock,
    fetch: o.fetch,
    // several instances on one database (issue #12): an account's 5 requests/s are the cluster's, not each instance's
    pacing: o.amoPacing,
  });
  const late: { worker?: ChatSourcesWorker } = {};
  const deps: ChatSourcesDeps = {
    sources,
    amoAccounts,
    amo,
    amoOAuth,
    analytics: o.analytics,
    links: o.links,
    uisEndpoints: o.uisEndpoints,
    appUrl: o.appUrl,
    stateSecret: o.stateSecret,
    clock: o.clock,
    log: o.log,
    fetch: o.fetch,
    wake: () => late.worker?.wake(),
    lease: o.lease,
  };
  const worker = (late.worker = createChatSourcesWorker(deps, o.worker));
  return { deps, worker };
}
