import { en, ru } from '@bitrix24/b24ui-nuxt/locale';
import { useI18n } from '../i18n';

/** The b24ui locale matching the portal language, for `<B24App :locale>` (kit pages only). */
export function useKitLocale() {
  return useI18n().lang === 'ru' ? ru : en;
}
