import { defineStore } from 'pinia';
import { ref } from 'vue';
import type { PortalView } from '../../server/contracts/portal';
import { ApiRequestError, useApi } from '../api/api-client';

/** The caller's portal as the server knows it (GET /api/portal). */
export const usePortalStore = defineStore('portal', () => {
  const api = useApi();
  const portal = ref<PortalView | null>(null);
  const loading = ref(false);
  const error = ref<{ code: string; message: string } | null>(null);

  async function load(): Promise<void> {
    loading.value = true;
    error.value = null;
    try {
      portal.value = await api.getPortal();
    } catch (e) {
      error.value = e instanceof ApiRequestError ? { code: e.code, message: e.message } : { code: 'UNEXPECTED', message: String(e) };
    } finally {
      loading.value = false;
    }
  }

  return { portal, loading, error, load };
});
