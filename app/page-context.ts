import type { Plugin } from 'vue';
import { apiClientKey, createApiClient, type ApiClient } from './api/api-client';
import { bootKey, type Boot } from './boot';
import { createI18n, i18nKey } from './i18n';

/**
 * Everything a page shares app-wide: the boot block, the /api client bound to its session and the
 * i18n for the portal's language. Tests pass their own ApiClient.
 */
export function pageContext(boot: Boot, api: ApiClient = createApiClient({ session: boot.session })): Plugin {
  return {
    install(app) {
      app.provide(bootKey, boot);
      app.provide(apiClientKey, api);
      app.provide(i18nKey, createI18n(boot.lang));
    },
  };
}
