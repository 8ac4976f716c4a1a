import type { AmoGateway } from '../../amocrm/client';
import type { AmoOAuthConfig } from '../../amocrm/oauth';
import type { UisProject } from '../../contracts/uis';
import type { Clock } from '../../domain/clock';
import type { Logger } from '../../logging';
import type { RunLease } from '../job-loop';
import type { AsyncPort } from '../async-port';
import type { AnalyticsRepository, UisEndpoints, UisLinkRepository } from '../ports';
import type { AmoAccountRepository, ChatSourceRepository } from './ports';

/** What the «Источники чатов» services are given by the composition root. */
export interface ChatSourcesDeps {
  sources: ChatSourceRepository;
  amoAccounts: AmoAccountRepository;
  amo: AmoGateway;
  /** null when this installation has no amoCRM integration configured (AMOCRM_CLIENT_ID) */
  amoOAuth: AmoOAuthConfig | null;
  analytics: AsyncPort<AnalyticsRepository>;
  links: AsyncPort<UisLinkRepository>;
  uisEndpoints(project: UisProject): UisEndpoints;
  appUrl: string;
  /** signs the OAuth state */
  stateSecret: string;
  clock: Clock;
  log: Logger;
  fetch?: typeof fetch;
  /** new work is due: the worker runs soon */
  wake(): void;
  /** Several instances on one database (issue #12): the portal's queue and keep-alive go to one of them. */
  lease?: RunLease;
}

export const jivoHookUrl = (appUrl: string, secret: string) => `${appUrl}/hooks/jivo/${secret}`;
export const amoHookUrl = (appUrl: string, secret: string) => `${appUrl}/hooks/amocrm/${secret}`;
export const amoRedirectUri = (appUrl: string) => `${appUrl}/oauth/amocrm/callback`;
