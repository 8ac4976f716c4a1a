import type { Ref } from 'vue';
import type { CrmRulesSettings } from '../../server/contracts/crm-rules';
import { useI18n } from '../i18n';

/** What every card of the «Чаты» / «Оффлайн заявки» tab takes besides the settings draft. */
export interface CrmCardProps {
  /** data-testid prefix (`crm-chats`, `crm-offline`) */
  prefix: string;
  /** Field path → message. */
  errors: Record<string, string>;
  plain: boolean;
  disabled: boolean;
}

/** A card's texts, test ids and the one way it changes the draft: a new settings object with `p` over it. */
export function useCrmCard(props: { prefix: string }, settings: Ref<CrmRulesSettings>) {
  const { t } = useI18n();
  return {
    t,
    tid: (s: string) => `${props.prefix}-${s}`,
    patch(p: Partial<CrmRulesSettings>): void {
      settings.value = { ...settings.value, ...p };
    },
  };
}
