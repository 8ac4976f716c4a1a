import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import {
  ANALYTICS_CONNECTORS,
  type AnalyticsJobView,
  type AnalyticsLists,
  type AnalyticsSettings,
  type AnalyticsView,
} from '../../server/contracts/analytics';
import { analyticsIssues, createAnalyticsApi, normalizeAnalyticsSettings, type AnalyticsApi } from '../api/analytics';
import { ApiRequestError } from '../api/api-request';
import type { ApiContext } from '../api/api-request';

export type { AnalyticsIssue, AnalyticsIssueCode } from '../api/analytics';

export type AnalyticsAction = 'load' | 'save' | 'lists' | 'jobs';

export interface AnalyticsFailure {
  code: string;
  message: string;
  /** Which call failed, so the page can say what did not happen. */
  action: AnalyticsAction;
}

/** The settings as the form edits them: every connector has a row (normalizing drops the empty ones). */
function editable(s: AnalyticsSettings): AnalyticsSettings {
  const empty = { sourceId: null, siteId: null, campaignId: null };
  return {
    ...s,
    defaults: { ...s.defaults },
    messengers: Object.fromEntries(ANALYTICS_CONNECTORS.map((c) => [c, { ...empty, ...s.messengers[c] }])),
    webhookToken: s.webhookToken ?? '',
  };
}

const same = (a: AnalyticsSettings, b: AnalyticsSettings): boolean =>
  JSON.stringify(normalizeAnalyticsSettings(a)) === JSON.stringify(normalizeAnalyticsSettings(b));

function failure(action: AnalyticsAction, e: unknown): AnalyticsFailure {
  const { code, message } = e instanceof ApiRequestError ? e : { code: 'UNEXPECTED', message: String(e) };
  return { code, message, action };
}

/**
 * «Открытые линии: сквозная аналитика»: the saved view, the draft the form edits, the live UIS lists
 * and the recent jobs. `dirty` compares the normalized draft with the saved settings; `issues` appear
 * once a save was attempted and follow the draft from then on (so fixed fields clear themselves).
 *
 * The /api client is bound with `connect(ctx)` (the page hands in its session): `ApiClient` in
 * app/api/api-client.ts does not carry the analytics calls yet. Until connected every call fails
 * with `NO_SESSION`.
 */
export const useAnalyticsStore = defineStore('analytics', () => {
  let api: AnalyticsApi = createAnalyticsApi({ session: null });
  const view = ref<AnalyticsView | null>(null);
  const draft = ref<AnalyticsSettings | null>(null);
  const lists = ref<AnalyticsLists | null>(null);
  const jobs = ref<AnalyticsJobView[] | null>(null);
  const loading = ref(false);
  const saving = ref(false);
  const listsLoading = ref(false);
  const jobsLoading = ref(false);
  /** The last failed load or save (shown with the settings / next to Save). */
  const error = ref<AnalyticsFailure | null>(null);
  const listsError = ref<AnalyticsFailure | null>(null);
  const jobsError = ref<AnalyticsFailure | null>(null);
  const checked = ref(false);

  const dirty = computed(() => !!view.value && !!draft.value && !same(draft.value, view.value.settings));
  const issues = computed(() => (checked.value && draft.value ? analyticsIssues(draft.value) : []));

  function connect(ctx: ApiContext): void {
    api = createAnalyticsApi(ctx);
  }

  function adopt(next: AnalyticsView): void {
    view.value = next;
    draft.value = editable(next.settings);
    checked.value = false;
  }

  async function load(): Promise<boolean> {
    loading.value = true;
    error.value = null;
    try {
      adopt(await api.getAnalytics());
      return true;
    } catch (e) {
      error.value = failure('load', e);
      return false;
    } finally {
      loading.value = false;
    }
  }

  /** Employees, sites, sources and campaigns from UIS (admins only). Ignored while loading. */
  async function loadLists(): Promise<boolean> {
    if (listsLoading.value) return false;
    listsLoading.value = true;
    listsError.value = null;
    try {
      lists.value = await api.getAnalyticsLists();
      return true;
    } catch (e) {
      listsError.value = failure('lists', e);
      return false;
    } finally {
      listsLoading.value = false;
    }
  }

  async function loadJobs(): Promise<boolean> {
    if (jobsLoading.value) return false;
    jobsLoading.value = true;
    jobsError.value = null;
    try {
      jobs.value = await api.getAnalyticsJobs();
      return true;
    } catch (e) {
      jobsError.value = failure('jobs', e);
      return false;
    } finally {
      jobsLoading.value = false;
    }
  }

  /**
   * Saves the draft; resolves true once the server answered the saved view (the draft is then reset
   * from it). Invalid drafts are not sent: `issues` says what to fix. Ignored while saving.
   */
  async function save(): Promise<boolean> {
    if (saving.value || !draft.value) return false;
    checked.value = true;
    error.value = null;
    if (issues.value.length > 0) return false;
    saving.value = true;
    try {
      adopt(await api.saveAnalytics(draft.value));
      return true;
    } catch (e) {
      error.value = failure('save', e);
      return false;
    } finally {
      saving.value = false;
    }
  }

  /** Back to the saved settings: the draft, the field messages and a failed save's alert are dropped. */
  function revert(): void {
    if (!view.value || saving.value) return;
    draft.value = editable(view.value.settings);
    checked.value = false;
    if (error.value?.action === 'save') error.value = null;
  }

  /** Forgets the UIS lists (the linked account changed); the next loadLists() asks UIS again. */
  function forgetLists(): void {
    lists.value = null;
    listsError.value = null;
  }

  return {
    view,
    draft,
    lists,
    jobs,
    loading,
    saving,
    listsLoading,
    jobsLoading,
    error,
    listsError,
    jobsError,
    dirty,
    issues,
    connect,
    load,
    loadLists,
    loadJobs,
    save,
    revert,
    forgetLists,
  };
});
