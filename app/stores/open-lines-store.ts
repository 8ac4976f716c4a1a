import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type { OpenLinesSettings, OpenLinesView } from '../../server/contracts/open-lines';
import { getOpenLines, openLinesIssues, saveOpenLines } from '../api/open-lines';
import { ApiRequestError, type ApiContext } from '../api/api-request';

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
/** What identifies the lines as the page loaded them: another tab connecting or changing a line changes it. */
const linesKey = (v: OpenLinesView | null) => JSON.stringify((v?.lines ?? []).map((l) => [l.lineId, l.channelId, l.binding]));

/**
 * «Открытые линии»: the saved view, the draft the tab edits (saved by the page's one «Сохранить»),
 * and whether the lines changed since the page loaded them (connected in the contact center in
 * another browser tab: seed 002 asks to refresh the page then). Bind the /api with `connect(ctx)`.
 */
export const useOpenLinesStore = defineStore('open-lines', () => {
  let ctx: ApiContext = { session: null };
  const view = ref<OpenLinesView | null>(null);
  const draft = ref<OpenLinesSettings | null>(null);
  const loading = ref(false);
  const saving = ref(false);
  const checked = ref(false);
  const error = ref<{ code: string; message: string; action: 'load' | 'save' } | null>(null);
  const linesChanged = ref(false);

  const dirty = computed(() => !!view.value && !!draft.value && JSON.stringify(draft.value) !== JSON.stringify(view.value.settings));
  const issues = computed(() => (checked.value && draft.value ? openLinesIssues(draft.value) : []));

  function connect(c: ApiContext): void {
    ctx = c;
  }
  function adopt(v: OpenLinesView): void {
    view.value = v;
    draft.value = clone(v.settings);
    checked.value = false;
  }
  const failure = (action: 'load' | 'save', e: unknown) => {
    const { code, message } = e instanceof ApiRequestError ? e : { code: 'UNEXPECTED', message: String(e) };
    error.value = { code, message, action };
  };

  async function load(): Promise<boolean> {
    loading.value = true;
    error.value = null;
    try {
      adopt(await getOpenLines(ctx));
      linesChanged.value = false;
      return true;
    } catch (e) {
      failure('load', e);
      return false;
    } finally {
      loading.value = false;
    }
  }

  /** Reads the lines again (the page came back into view); the draft stays; `linesChanged` says whether they moved. */
  async function recheck(): Promise<void> {
    if (!view.value || loading.value || saving.value) return;
    try {
      const fresh = await getOpenLines(ctx);
      if (linesKey(fresh) !== linesKey(view.value)) linesChanged.value = true;
    } catch {
      // a failed background check changes nothing on the page
    }
  }

  async function save(): Promise<boolean> {
    if (saving.value || !draft.value) return false;
    checked.value = true;
    if (issues.value.length) return false;
    saving.value = true;
    error.value = null;
    try {
      adopt(await saveOpenLines(ctx, draft.value));
      return true;
    } catch (e) {
      failure('save', e);
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

  return { view, draft, loading, saving, error, dirty, issues, linesChanged, connect, load, recheck, save, revert };
});
