import { defineStore } from 'pinia';
import { ref } from 'vue';
import type { TelephonyLists, TelephonyView } from '../../server/contracts/telephony';
import type { CallTemplatePreview, TelephonySettings } from '../../server/contracts/telephony-settings';
import { createTelephonyApi, telephonyIssues, type TelephonyApi } from '../api/telephony';
import { ApiRequestError, type ApiContext } from '../api/api-request';

export type { TelephonyIssue } from '../api/telephony';

export interface TelephonyFailure {
  code: string;
  message: string;
  action: 'load' | 'save' | 'lists' | 'preview' | 'hook' | 'lines';
}

function failure(action: TelephonyFailure['action'], e: unknown): TelephonyFailure {
  const { code, message } = e instanceof ApiRequestError ? e : { code: 'UNEXPECTED', message: String(e) };
  return { code, message, action };
}

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

/**
 * «Телефония»: the saved view, the draft the tab edits (`dirty`, `issues` once a save was tried,
 * `save`, `revert`), the live UIS lists for the pickers and the title previews per direction.
 */
export const useTelephonyStore = defineStore('telephony', () => {
  let api: TelephonyApi = createTelephonyApi({ session: null });
  const view = ref<TelephonyView | null>(null);
  const draft = ref<TelephonySettings | null>(null);
  const checked = ref(false);
  const loading = ref(false);
  const saving = ref(false);
  const error = ref<TelephonyFailure | null>(null);
  const lists = ref<TelephonyLists | null>(null);
  const listsLoading = ref(false);
  const listsError = ref<TelephonyFailure | null>(null);
  const previews = ref<Record<'in' | 'out', CallTemplatePreview | null>>({ in: null, out: null });

  const dirty = () => !!view.value && !!draft.value && JSON.stringify(draft.value) !== JSON.stringify(view.value.settings);
  const issues = () => (checked.value && draft.value ? telephonyIssues(draft.value) : []);

  function connect(ctx: ApiContext): void {
    api = createTelephonyApi(ctx);
  }
  function adopt(v: TelephonyView, keepDraft = false): void {
    view.value = v;
    if (!keepDraft) {
      draft.value = clone(v.settings);
      checked.value = false;
    }
  }

  async function load(): Promise<boolean> {
    loading.value = true;
    error.value = null;
    try {
      adopt(await api.get());
      return true;
    } catch (e) {
      error.value = failure('load', e);
      return false;
    } finally {
      loading.value = false;
    }
  }

  async function loadLists(): Promise<boolean> {
    if (listsLoading.value) return false;
    listsLoading.value = true;
    listsError.value = null;
    try {
      lists.value = await api.lists();
      return true;
    } catch (e) {
      listsError.value = failure('lists', e);
      return false;
    } finally {
      listsLoading.value = false;
    }
  }

  async function save(): Promise<boolean> {
    if (saving.value || !draft.value) return false;
    checked.value = true;
    error.value = null;
    if (issues().length > 0) return false;
    saving.value = true;
    try {
      adopt(await api.save(draft.value));
      return true;
    } catch (e) {
      error.value = failure('save', e);
      return false;
    } finally {
      saving.value = false;
    }
  }

  function revert(): void {
    if (!view.value || saving.value) return;
    draft.value = clone(view.value.settings);
    checked.value = false;
    if (error.value?.action === 'save') error.value = null;
  }

  function setDraft(s: TelephonySettings | null): void {
    draft.value = s;
  }

  const seq = { in: 0, out: 0 };
  async function preview(direction: 'in' | 'out'): Promise<void> {
    const d = draft.value;
    if (!d) return;
    const n = ++seq[direction];
    try {
      const p = await api.preview(direction, d.templates[direction === 'in' ? 'incoming' : 'outgoing'].defaults);
      if (n === seq[direction]) previews.value = { ...previews.value, [direction]: p };
    } catch (e) {
      if (n === seq[direction]) error.value = failure('preview', e);
    }
  }

  async function act(action: 'hook' | 'lines'): Promise<void> {
    try {
      adopt(action === 'hook' ? await api.rotateHook() : await api.syncLines(), true);
    } catch (e) {
      error.value = failure(action, e);
    }
  }

  return { view, draft, loading, saving, error, lists, listsLoading, listsError, previews, dirty, issues, connect, load, loadLists, save, revert, setDraft, preview, rotateHook: () => act('hook'), syncLines: () => act('lines') };
});
