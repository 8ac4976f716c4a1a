import { defineStore } from 'pinia';
import { ref } from 'vue';
import type { UisLinkRequest, UisLinkView } from '../../server/contracts/uis';
import { ApiRequestError, useApi } from '../api/api-client';

export type UisLinkAction = 'load' | 'link' | 'unlink';

export interface UisLinkFailure {
  code: string;
  message: string;
  /** Which call failed, so the page can say what did not happen. */
  action: UisLinkAction;
  /** The form field at fault and UIS's own reason (a mnemonic), when the server named them. */
  field?: string;
  reason?: string;
}

/**
 * The portal's UIS account link (Главная → «Аккаунт UIS»). Only the server's view is kept: the
 * password and Data API key of a link request pass through `link()` and are never stored here.
 */
export const useUisLinkStore = defineStore('uis-link', () => {
  const api = useApi();
  const view = ref<UisLinkView | null>(null);
  const loading = ref(false);
  const saving = ref(false);
  const error = ref<UisLinkFailure | null>(null);

  async function attempt(action: UisLinkAction, call: () => Promise<UisLinkView>): Promise<boolean> {
    error.value = null;
    try {
      view.value = await call();
      return true;
    } catch (e) {
      const { code, message, field, reason } = e instanceof ApiRequestError ? e : { code: 'UNEXPECTED', message: String(e), field: undefined, reason: undefined };
      error.value = { code, message, action, ...(field ? { field } : {}), ...(reason ? { reason } : {}) };
      return false;
    }
  }

  async function load(): Promise<void> {
    loading.value = true;
    await attempt('load', () => api.getUisLink());
    loading.value = false;
  }

  /** Links the account; resolves true once the server answered the linked view. Ignored while saving. */
  async function link(request: UisLinkRequest): Promise<boolean> {
    if (saving.value) return false;
    saving.value = true;
    const ok = await attempt('link', () => api.linkUis(request));
    saving.value = false;
    return ok;
  }

  /** Unlinks the account; resolves true once the server answered the unlinked view. Ignored while saving. */
  async function unlink(): Promise<boolean> {
    if (saving.value) return false;
    saving.value = true;
    const ok = await attempt('unlink', () => api.unlinkUis());
    saving.value = false;
    return ok;
  }

  return { view, loading, saving, error, load, link, unlink };
});
