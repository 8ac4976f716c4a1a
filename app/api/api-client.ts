import { inject, type InjectionKey } from 'vue';
import type { InstallProgress } from '../../server/contracts/install';
import type { PortalView } from '../../server/contracts/portal';
import type { UisLinkRequest, UisLinkView } from '../../server/contracts/uis';
import type { ApiContext } from './api-request';
import { runInstall } from './install';
import { getPortal } from './portal';
import { getUisLink, linkUis, unlinkUis } from './uis';

/** The /api calls bound to one page's session; provided app-wide, injected by stores. */
export interface ApiClient {
  runInstall(onProgress: (event: InstallProgress) => void): Promise<boolean>;
  getPortal(): Promise<PortalView>;
  getUisLink(): Promise<UisLinkView>;
  linkUis(request: UisLinkRequest): Promise<UisLinkView>;
  unlinkUis(): Promise<UisLinkView>;
}

export const apiClientKey: InjectionKey<ApiClient> = Symbol('omni-api');

export function createApiClient(ctx: ApiContext): ApiClient {
  return {
    runInstall: (onProgress) => runInstall(ctx, onProgress),
    getPortal: () => getPortal(ctx),
    getUisLink: () => getUisLink(ctx),
    linkUis: (request) => linkUis(ctx, request),
    unlinkUis: () => unlinkUis(ctx),
  };
}

/** The client provided by pageContext(); throws when used outside an app that installed it. */
export function useApi(): ApiClient {
  const api = inject(apiClientKey, null);
  if (!api) throw new Error('useApi(): no ApiClient provided (install pageContext(boot) on the app).');
  return api;
}

export { ApiRequestError } from './api-request';
