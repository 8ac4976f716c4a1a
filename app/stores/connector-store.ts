import { defineStore } from 'pinia';
import { ref } from 'vue';
import type { ConnectorEmployees, ConnectorView } from '../../server/contracts/connector';
import { bindConnector, getConnector, getEmployees, putDefaultOperator, unbindConnector } from '../api/connector';
import { ApiRequestError } from '../api/api-request';
import { useBoot } from '../boot';

/** The connector page: one open line's UIS channel binding. */
export const useConnectorStore = defineStore('connector', () => {
  const boot = useBoot();
  const ctx = { session: boot.session };
  const view = ref<ConnectorView | null>(null);
  const busy = ref(false);
  const error = ref<{ code: string; message: string } | null>(null);
  const employees = ref<ConnectorEmployees | null>(null);
  const operatorSaved = ref(false);

  async function attempt(call: () => Promise<ConnectorView | ConnectorEmployees>): Promise<boolean> {
    busy.value = true;
    error.value = null;
    operatorSaved.value = false;
    try {
      const r = await call();
      if ('employees' in r) employees.value = r;
      else view.value = r;
      return true;
    } catch (e) {
      error.value = e instanceof ApiRequestError ? { code: e.code, message: e.message } : { code: 'UNEXPECTED', message: String(e) };
      return false;
    } finally {
      busy.value = false;
    }
  }

  return {
    view,
    busy,
    error,
    load: (line: string) => attempt(() => getConnector(ctx, line)),
    bind: (line: string, channelId: string) => attempt(() => bindConnector(ctx, line, channelId)),
    unbind: (line: string) => attempt(() => unbindConnector(ctx, line)),
    employees,
    operatorSaved,
    loadEmployees: () => attempt(() => getEmployees(ctx)),
    async saveDefaultOperator(operatorId: number | null) {
      operatorSaved.value = (await attempt(() => putDefaultOperator(ctx, operatorId))) && true;
      return operatorSaved.value;
    },
  };
});
