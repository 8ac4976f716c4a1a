import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type { CrmRulesSettings } from '../../server/contracts/crm-rules';
import type { CrmDirectory, CrmRulesKind, CrmRulesView, TemplatePreview } from '../../server/contracts/crm-settings';
import { createCrmRulesApi, crmRulesIssues, type CrmRulesApi } from '../api/crm-rules';
import { ApiRequestError, type ApiContext } from '../api/api-request';

export type { CrmRulesIssue } from '../api/crm-rules';

export interface CrmRulesFailure {
  code: string;
  message: string;
  action: 'load' | 'save' | 'directory' | 'preview';
}

function failure(action: CrmRulesFailure['action'], e: unknown): CrmRulesFailure {
  const { code, message } = e instanceof ApiRequestError ? e : { code: 'UNEXPECTED', message: String(e) };
  return { code, message, action };
}

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * «Чаты» and «Оффлайн заявки»: per tab the saved view and the draft the form edits (`dirty`,
 * `issues` once a save was tried, `save`, `revert`, `revertTemplate`), plus the portal's CRM
 * directory shared by both tabs and the template preview. Bind the /api with `connect(ctx)`.
 */
export const useCrmRulesStore = defineStore('crm-rules', () => {
  let api: CrmRulesApi = createCrmRulesApi({ session: null });
  const views = ref<Record<CrmRulesKind, CrmRulesView | null>>({ chats: null, offline: null });
  const drafts = ref<Record<CrmRulesKind, CrmRulesSettings | null>>({ chats: null, offline: null });
  const checked = ref<Record<CrmRulesKind, boolean>>({ chats: false, offline: false });
  const saving = ref<Record<CrmRulesKind, boolean>>({ chats: false, offline: false });
  const loading = ref(false);
  const errors = ref<Record<CrmRulesKind, CrmRulesFailure | null>>({ chats: null, offline: null });
  const directory = ref<CrmDirectory | null>(null);
  const directoryLoading = ref(false);
  const directoryError = ref<CrmRulesFailure | null>(null);
  const previews = ref<Record<CrmRulesKind, TemplatePreview | null>>({ chats: null, offline: null });

  const dirty = (kind: CrmRulesKind) => !!views.value[kind] && !!drafts.value[kind] && !same(drafts.value[kind], views.value[kind]!.settings);
  const issues = (kind: CrmRulesKind) =>
    checked.value[kind] && drafts.value[kind] ? crmRulesIssues(drafts.value[kind]!) : [];
  const anyDirty = computed(() => dirty('chats') || dirty('offline'));

  function connect(ctx: ApiContext): void {
    api = createCrmRulesApi(ctx);
  }

  function adopt(view: CrmRulesView): void {
    views.value = { ...views.value, [view.kind]: view };
    drafts.value = { ...drafts.value, [view.kind]: clone(view.settings) };
    checked.value = { ...checked.value, [view.kind]: false };
  }

  async function load(): Promise<boolean> {
    loading.value = true;
    errors.value = { chats: null, offline: null };
    try {
      const results = await Promise.allSettled((['chats', 'offline'] as const).map((k) => api.get(k)));
      results.forEach((r, i) => {
        const kind = i === 0 ? 'chats' : 'offline';
        if (r.status === 'fulfilled') adopt(r.value);
        else errors.value = { ...errors.value, [kind]: failure('load', r.reason) };
      });
      return results.every((r) => r.status === 'fulfilled');
    } finally {
      loading.value = false;
    }
  }

  async function loadDirectory(refresh = false): Promise<boolean> {
    if (directoryLoading.value) return false;
    directoryLoading.value = true;
    directoryError.value = null;
    try {
      directory.value = refresh ? await api.refreshDirectory() : await api.directory();
      return true;
    } catch (e) {
      directoryError.value = failure('directory', e);
      return false;
    } finally {
      directoryLoading.value = false;
    }
  }

  /** Saves one tab's draft (not sent while `issues` has anything); true once the server answered the saved view. */
  async function save(kind: CrmRulesKind): Promise<boolean> {
    const draft = drafts.value[kind];
    if (saving.value[kind] || !draft) return false;
    checked.value = { ...checked.value, [kind]: true };
    errors.value = { ...errors.value, [kind]: null };
    if (issues(kind).length > 0) return false;
    saving.value = { ...saving.value, [kind]: true };
    try {
      adopt(await api.save(kind, draft));
      return true;
    } catch (e) {
      errors.value = { ...errors.value, [kind]: failure('save', e) };
      return false;
    } finally {
      saving.value = { ...saving.value, [kind]: false };
    }
  }

  function revert(kind: CrmRulesKind): void {
    const view = views.value[kind];
    if (!view || saving.value[kind]) return;
    drafts.value = { ...drafts.value, [kind]: clone(view.settings) };
    checked.value = { ...checked.value, [kind]: false };
    if (errors.value[kind]?.action === 'save') errors.value = { ...errors.value, [kind]: null };
  }

  /** «Вернуть сохранённый»: one template back to its saved text. */
  function revertTemplate(kind: CrmRulesKind, which: 'lead' | 'deal'): void {
    const view = views.value[kind];
    const draft = drafts.value[kind];
    if (!view || !draft) return;
    drafts.value = { ...drafts.value, [kind]: { ...draft, templates: { ...draft.templates, [which]: view.settings.templates[which] } } };
  }

  function setDraft(kind: CrmRulesKind, settings: CrmRulesSettings | null): void {
    drafts.value = { ...drafts.value, [kind]: settings };
  }

  /** The titles the current templates give on the example chat; the last answer wins, per tab (one tab's late answer never drops the other's). */
  const previewSeq: Record<CrmRulesKind, number> = { chats: 0, offline: 0 };
  async function preview(kind: CrmRulesKind): Promise<boolean> {
    const draft = drafts.value[kind];
    if (!draft) return false;
    const seq = ++previewSeq[kind];
    try {
      const p = await api.preview(kind, draft.templates);
      if (seq === previewSeq[kind]) previews.value = { ...previews.value, [kind]: p };
      return true;
    } catch (e) {
      if (seq === previewSeq[kind]) errors.value = { ...errors.value, [kind]: failure('preview', e) };
      return false;
    }
  }

  return {
    views,
    drafts,
    saving,
    loading,
    errors,
    directory,
    directoryLoading,
    directoryError,
    previews,
    anyDirty,
    dirty,
    issues,
    connect,
    load,
    loadDirectory,
    save,
    revert,
    revertTemplate,
    setDraft,
    preview,
  };
});
