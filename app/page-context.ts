import type { Plugin } from 'vue';
import { apiClientKey, createApiClient, type ApiClient } from './api/api-client';
import { bootKey, type Boot } from './boot';
import type { Lang } from '../install/plan';
import { createI18n, i18nKey } from './i18n';

/**
 * Everything a page shares app-wide: the boot block, the /api client bound to its session and the
 * i18n for the portal's language (plus the page's own `messages`). Tests pass their own ApiClient.
 */
export function pageContext(boot: Boot, api: ApiClient = createApiClient({ session: boot.session }), messages?: Record<Lang, Record<string, string>>): Plugin {
  return {
    install(app) {
      app.provide(bootKey, boot);
      app.provide(apiClientKey, api);
      app.provide(i18nKey, createI18n(boot.lang, messages));
    },
  };
}
