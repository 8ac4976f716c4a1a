import { defineStore } from 'pinia';
import { ref } from 'vue';
import type { HealthView } from '../../server/contracts/health';
import { getHealth } from '../api/health';
import { ApiRequestError, type ApiContext } from '../api/api-request';

/** «Состояние» (issue #16): the latest health view of the portal; read on opening, on focus and on demand. */
export const useHealthStore = defineStore('health', () => {
  let ctx: ApiContext = { session: null };
  const view = ref<HealthView | null>(null);
  const loading = ref(false);
  const error = ref<{ code: string; message: string } | null>(null);

  function connect(c: ApiContext): void {
    ctx = c;
  }
  async function load(): Promise<void> {
    if (loading.value) return;
    loading.value = true;
    try {
      view.value = await getHealth(ctx);
      error.value = null;
    } catch (e) {
      error.value = e instanceof ApiRequestError ? { code: e.code, message: e.message } : { code: 'UNEXPECTED', message: String(e) };
    } finally {
      loading.value = false;
    }
  }
  return { view, loading, error, connect, load };
});
