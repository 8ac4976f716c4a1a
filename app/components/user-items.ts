import { computed } from 'vue';
import type { CrmDirectory } from '../../server/contracts/crm-settings';
import { useI18n } from '../i18n';

/**
 * The portal's users as picker items (#13), shared by «Ответственные» of Chats/Offline and of
 * «Телефония»: «Имя Фамилия» («(без фамилии)» where it is missing); a saved id no longer in the
 * directory still shows, as «id (нет в CRM)».
 */
export function useUserItems(directory: () => CrmDirectory | null) {
  const { t } = useI18n();
  const userItems = computed(() =>
    (directory()?.users ?? []).map((u) => ({ value: u.id, label: u.lastName ? `${u.name} ${u.lastName}` : t('crm.noLastName', { name: u.name || `#${u.id}` }) })),
  );
  const userLabel = (id: number | null): string => (id === null ? '—' : (userItems.value.find((u) => u.value === id)?.label ?? t('crm.unknownId', { id })));
  const usersWith = (id: number | null) => (id !== null && !userItems.value.some((u) => u.value === id) ? [...userItems.value, { value: id, label: userLabel(id) }] : userItems.value);
  return { userItems, userLabel, usersWith };
}
