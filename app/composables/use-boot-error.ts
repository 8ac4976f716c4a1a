import { computed } from 'vue';
import { useBoot } from '../boot';
import { useI18n } from '../i18n';

/** The boot error as the plain placement pages show it, or null. */
export function useBootError() {
  const boot = useBoot();
  const { t } = useI18n();
  return computed(() =>
    boot.error ? { title: t('bootError.title'), message: boot.error.message, hint: t('bootError.hint') } : null,
  );
}
