import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type { EmployeeSyncSettings, EmployeeSyncView } from '../../server/contracts/employee-sync';
import { getEmployeeSync, runEmployeeSync, saveEmployeeSyncSettings } from '../api/employee-sync';
import { ApiRequestError, type ApiContext } from '../api/api-request';

const normal = (s: EmployeeSyncSettings): EmployeeSyncSettings => ({ ...s, userIds: [...s.userIds].sort((a, b) => a - b) });
const same = (a: EmployeeSyncSettings, b: EmployeeSyncSettings) => JSON.stringify(normal(a)) === JSON.stringify(normal(b));

/**
 * «Синхронизация сотрудников» (Главная): the saved view, the options draft the card edits (saved by
 * the page's one «Сохранить», so leaving with changes asks first like every tab), the manual run
 * (a server job polled every 2 s while it runs). Bind the /api with `connect(ctx)`.
 */
export const useEmployeeSyncStore = defineStore('employee-sync', () => {
  let ctx: ApiContext = { session: null };
  const view = ref<EmployeeSyncView | null>(null);
  const draft = ref<EmployeeSyncSettings>({ importStatuses: false, dailySync: false, userIds: [] });
  const error = ref<{ code: string; message: string; action: 'load' | 'save' | 'run' } | null>(null);
  const saving = ref(false);
  let timer: ReturnType<typeof globalThis.setTimeout> | null = null;

  const dirty = computed(() => !!view.value && !same(draft.value, view.value.settings));

  function connect(c: ApiContext): void {
    ctx = c;
  }

  function show(v: EmployeeSyncView, resetDraft: boolean): void {
    view.value = v;
    if (resetDraft) draft.value = normal(v.settings);
    if (timer) globalThis.clearTimeout(timer);
    timer = v.run?.status === 'running' ? globalThis.setTimeout(() => void act('load', () => getEmployeeSync(ctx), false), 2000) : null;
  }

  async function act(action: 'load' | 'save' | 'run', work: () => Promise<EmployeeSyncView>, resetDraft: boolean): Promise<boolean> {
    if (action !== 'load' || resetDraft) error.value = null;
    try {
      show(await work(), resetDraft);
      return true;
    } catch (e) {
      const { code, message } = e instanceof ApiRequestError ? e : { code: 'UNEXPECTED', message: String(e) };
      error.value = { code, message, action };
      return false;
    }
  }

  /** Loads the view; the draft is replaced only when it has no unsaved changes. */
  const load = () => act('load', () => getEmployeeSync(ctx), !dirty.value);

  async function save(): Promise<boolean> {
    if (saving.value) return false;
    saving.value = true;
    try {
      return await act('save', () => saveEmployeeSyncSettings(ctx, draft.value), true);
    } finally {
      saving.value = false;
    }
  }

  function revert(): void {
    if (view.value && !saving.value) draft.value = normal(view.value.settings);
    if (error.value?.action === 'save') error.value = null;
  }

  const run = () => act('run', () => runEmployeeSync(ctx), false);

  function toggleUser(id: number, on: boolean): void {
    const ids = draft.value.userIds.filter((x) => x !== id);
    draft.value = { ...draft.value, userIds: on ? [...ids, id] : ids };
  }

  function stop(): void {
    if (timer) globalThis.clearTimeout(timer);
    timer = null;
  }

  return { view, draft, error, saving, dirty, connect, load, save, revert, run, toggleUser, stop };
});
