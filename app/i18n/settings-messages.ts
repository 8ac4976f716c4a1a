import type { Lang } from '../../install/plan';
import { healthEn } from './health.en';
import { healthRu } from './health.ru';
import { openLinesEn } from './open-lines.en';
import { openLinesRu } from './open-lines.ru';
import { telephonyStartsEn } from './telephony-starts.en';
import { telephonyEn } from './telephony.en';
import { telephonyRu } from './telephony.ru';
import { telephonyStartsRu } from './telephony-starts.ru';

/**
 * Catalogues only the settings page uses, kept out of ru.ts/en.ts: every page bundles those, and
 * the left-menu and CRM-tab pages must stay ≤ 100 kB gzip. placements/app/main.ts hands these to
 * pageContext(); their keys are part of MessageKey.
 */
export const settingsMessages: Record<Lang, Record<string, string>> = {
  ru: { ...telephonyRu, ...telephonyStartsRu, ...openLinesRu, ...healthRu },
  en: { ...telephonyEn, ...telephonyStartsEn, ...openLinesEn, ...healthEn },
};
