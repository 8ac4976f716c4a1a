import type { I18n } from './index';

/** A UIS channel type (Data API `chat_channel_type`) in the page's words; never the raw code. */
export function channelTypeLabel(i18n: I18n, type: string): string {
  const key = `channelType.${type}`;
  return i18n.has(key) ? i18n.t(key) : i18n.t('channelType.other');
}
