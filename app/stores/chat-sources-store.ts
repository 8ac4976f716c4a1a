import { defineStore } from 'pinia';
import { ref } from 'vue';
import type { AmoFields, AmoSettings, ChatSource, ChatSourcesView, JivoSettings, SourceItemView } from '../../server/contracts/chat-sources';
import { createChatSourcesApi, normalizeSource, sourceIssues, type ChatSourcesApi, type SourceIssue } from '../api/chat-sources';
import { ApiRequestError, type ApiContext } from '../api/api-request';

export type { SourceIssue } from '../api/chat-sources';

export interface SourceFailure {
  code: string;
  message: string;
  action: 'load' | 'save' | 'connect' | 'disconnect' | 'fields' | 'items';
  source: ChatSource | null;
}

type Drafts = { jivo: JivoSettings | null; amocrm: AmoSettings | null };

function failure(action: SourceFailure['action'], source: ChatSource | null, e: unknown): SourceFailure {
  const { code, message } = e instanceof ApiRequestError ? e : { code: 'UNEXPECTED', message: String(e) };
  return { code, message, action, source };
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * «Источники чатов» (Jivo, amoCRM): the saved views, a draft per source with its dirty flag and
 * field issues (once a save was tried), the amoCRM connection (connect opens amoCRM's chooser in a
 * new window; the view is read again when the page regains focus), the amoCRM fields for the
 * session picker and each source's recent conversations. Bound to the page session with `connect`.
 */
export const useChatSourcesStore = defineStore('chat-sources', () => {
  let api: ChatSourcesApi = createChatSourcesApi({ session: null });
  const view = ref<ChatSourcesView | null>(null);
  const drafts = ref<Drafts>({ jivo: null, amocrm: null });
  const loading = ref(false);
  const saving = ref<Record<ChatSource, boolean>>({ jivo: false, amocrm: false });
  const checked = ref<Record<ChatSource, boolean>>({ jivo: false, amocrm: false });
  const error = ref<SourceFailure | null>(null);
  const fields = ref<AmoFields | null>(null);
  const fieldsLoading = ref(false);
  const items = ref<Record<ChatSource, SourceItemView[] | null>>({ jivo: null, amocrm: null });
  const busy = ref(false);

  const saved = (source: ChatSource) => (source === 'jivo' ? view.value?.jivo.settings : view.value?.amocrm.settings) ?? null;
  const dirty = (source: ChatSource) => {
    const d = drafts.value[source];
    const s = saved(source);
    return !!d && !!s && !same(normalizeSource(d), normalizeSource(s));
  };
  const issues = (source: ChatSource): SourceIssue[] => {
    const d = drafts.value[source];
    return checked.value[source] && d ? sourceIssues(source, d) : [];
  };

  function adopt(next: ChatSourcesView, only?: ChatSource): void {
    view.value = next;
    if (!only || only === 'jivo') drafts.value.jivo = structuredClone(next.jivo.settings);
    if (!only || only === 'amocrm') drafts.value.amocrm = structuredClone(next.amocrm.settings);
  }

  async function load(): Promise<boolean> {
    loading.value = true;
    try {
      const next = await api.get();
      // a reload keeps a draft the admin is editing
      const keep = { jivo: dirty('jivo'), amocrm: dirty('amocrm') };
      const old = drafts.value;
      adopt(next);
      if (keep.jivo) drafts.value.jivo = old.jivo;
      if (keep.amocrm) drafts.value.amocrm = old.amocrm;
      if (error.value?.action === 'load') error.value = null;
      return true;
    } catch (e) {
      error.value = failure('load', null, e);
      return false;
    } finally {
      loading.value = false;
    }
  }

  function setDraft(source: ChatSource, s: JivoSettings | AmoSettings): void {
    if (source === 'jivo') drafts.value.jivo = s as JivoSettings;
    else drafts.value.amocrm = s as AmoSettings;
  }

  async function save(source: ChatSource): Promise<boolean> {
    const d = drafts.value[source];
    if (saving.value[source] || !d || !view.value) return false;
    checked.value[source] = true;
    if (issues(source).length) return false;
    saving.value[source] = true;
    error.value = null;
    try {
      if (source === 'jivo') view.value = { ...view.value, jivo: await api.saveJivo(d as JivoSettings) };
      else view.value = { ...view.value, amocrm: await api.saveAmo(d as AmoSettings) };
      adopt(view.value, source);
      checked.value[source] = false;
      return true;
    } catch (e) {
      error.value = failure('save', source, e);
      return false;
    } finally {
      saving.value[source] = false;
    }
  }

  function revert(source: ChatSource): void {
    if (!view.value || saving.value[source]) return;
    adopt(view.value, source);
    checked.value[source] = false;
    if (error.value?.source === source) error.value = null;
  }

  /** Opens amoCRM's chooser (the account, with admin rights) in a new window; the callback page says when done. */
  async function connectAmo(req: { name: string; domain: string }, open: (url: string) => void): Promise<boolean> {
    busy.value = true;
    error.value = null;
    try {
      open((await api.connectAmo(req)).authorizeUrl);
      return true;
    } catch (e) {
      error.value = failure('connect', 'amocrm', e);
      return false;
    } finally {
      busy.value = false;
    }
  }

  async function disconnectAmo(): Promise<boolean> {
    busy.value = true;
    try {
      await api.disconnectAmo();
      fields.value = null;
      await load();
      return true;
    } catch (e) {
      error.value = failure('disconnect', 'amocrm', e);
      return false;
    } finally {
      busy.value = false;
    }
  }

  async function loadFields(): Promise<void> {
    if (fieldsLoading.value) return;
    fieldsLoading.value = true;
    try {
      fields.value = await api.amoFields();
    } catch (e) {
      error.value = failure('fields', 'amocrm', e);
    } finally {
      fieldsLoading.value = false;
    }
  }

  async function loadItems(source: ChatSource): Promise<void> {
    try {
      items.value[source] = await api.items(source);
    } catch (e) {
      error.value = failure('items', source, e);
    }
  }

  return {
    view,
    drafts,
    loading,
    saving,
    error,
    fields,
    fieldsLoading,
    items,
    busy,
    dirty,
    issues,
    connect: (ctx: ApiContext) => void (api = createChatSourcesApi(ctx)),
    load,
    setDraft,
    save,
    revert,
    connectAmo,
    disconnectAmo,
    loadFields,
    loadItems,
  };
});
