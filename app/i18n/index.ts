import { inject, type InjectionKey } from 'vue';
import type { Lang } from '../../install/plan';
import { en } from './en';
import { ru, type MessageKey } from './ru';

export type { MessageKey };
export type Params = Record<string, string | number>;

export interface I18n {
  lang: Lang;
  /** Message for `key` with `{name}` placeholders filled from `params`. */
  t(key: MessageKey, params?: Params): string;
  /** Whether `key` exists (for keys built at runtime, e.g. from error codes). */
  has(key: string): key is MessageKey;
  /** The current language's side of a `{ ru, en }` pair (install plan labels). */
  pick(text: Record<Lang, string>): string;
  /** Our wording for a known error code (`error.<code>`), else the server's message. */
  errorText(error: { code: string; message: string }): string;
}

const catalogues: Record<Lang, Record<string, string>> = { ru, en };

/**
 * The page language is the portal's (boot.lang); nothing else chooses it. `extra`: catalogues of
 * one page only (settings-messages.ts), so the light pages do not carry them.
 */
export function createI18n(lang: Lang, extra?: Record<Lang, Record<string, string>>): I18n {
  const messages: Record<string, string> = extra ? { ...catalogues[lang], ...extra[lang] } : catalogues[lang];
  return {
    lang,
    t: (key, params = {}) => (messages[key] ?? key).replace(/\{(\w+)\}/g, (m, name: string) => String(params[name] ?? m)),
    has: (key): key is MessageKey => Object.hasOwn(messages, key),
    pick: (text) => text[lang],
    errorText: ({ code, message }) => {
      const key = `error.${code}`;
      return messages[key] ?? message;
    },
  };
}

export const i18nKey: InjectionKey<I18n> = Symbol('omni-i18n');

export function useI18n(): I18n {
  const i18n = inject(i18nKey, null);
  if (!i18n) throw new Error('useI18n(): no I18n provided (install pageContext(boot) on the app).');
  return i18n;
}
