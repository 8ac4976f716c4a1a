import { defineStore } from 'pinia';
import { ref } from 'vue';
import type { ClientChat, StartChannel, StartChatRequest, WorkspaceState } from '../../server/contracts/workspace';
import { ApiRequestError, type ApiContext } from '../api/api-request';
import { createWorkspaceApi, type WorkspaceApi } from '../api/workspace';
import { readClientContacts, type ClientContacts, type CrmEntityType, type CrmReadDeps, type PortalAuth } from '../bitrix/crm-contacts';

/** Why a page shows a message instead of the workspace. */
export type NoticeReason =
  | Exclude<WorkspaceState, 'ready'>
  /** CRM tab without a record id (PLACEMENT_OPTIONS.ID is "" for a record not saved yet) */
  | 'no-entity'
  /** the viewing user may not read the card (or any contact of the deal) */
  | 'no-access'
  | 'not-found'
  | 'no-contacts'
  | 'crm-failed'
  /** our server refused or failed */
  | 'failed';

export type WorkspacePhase =
  | { kind: 'loading' }
  | { kind: 'workspace'; url: string }
  /** no chat with this client yet: «Написать новому клиенту» */
  | { kind: 'new-client' }
  | { kind: 'notice'; reason: NoticeReason; detail?: { code: string; message: string } };

export interface Failure {
  code: string;
  message: string;
}

const failureOf = (e: unknown): Failure => (e instanceof ApiRequestError ? { code: e.code, message: e.message } : { code: 'UNEXPECTED', message: String(e) });

/**
 * The operator workspace pages (left menu, CRM tabs): what to show — the UIS workspace frame, a
 * state message, or the new-chat form — and the client the CRM card is about. The /api client is
 * bound with `connect()` (the page hands in its session; tests a fake).
 */
export const useWorkspaceStore = defineStore('workspace', () => {
  let api: WorkspaceApi = createWorkspaceApi({ session: null });
  const phase = ref<WorkspacePhase>({ kind: 'loading' });
  const canManage = ref(false);
  const client = ref<ClientContacts | null>(null);
  const chats = ref<ClientChat[]>([]);
  const channels = ref<StartChannel[]>([]);
  const starting = ref(false);
  const startError = ref<Failure | null>(null);

  function connect(target: ApiContext | WorkspaceApi): void {
    api = 'getWorkspace' in target ? target : createWorkspaceApi(target);
  }

  const notice = (reason: NoticeReason, detail?: Failure) => (phase.value = { kind: 'notice', reason, detail });

  /** Left menu: the workspace of the linked account, or why not. */
  async function openMenu(): Promise<void> {
    phase.value = { kind: 'loading' };
    try {
      const view = await api.getWorkspace();
      canManage.value = view.canManage;
      if (view.state === 'ready' && view.url) phase.value = { kind: 'workspace', url: view.url };
      else notice(view.state === 'ready' ? 'failed' : view.state);
    } catch (e) {
      notice('failed', failureOf(e));
    }
  }

  /**
   * CRM tab: read the card's contact data with the viewing user's token, look their chats up in
   * UIS and open the workspace on the newest (an open one first); no chat → the new-chat form.
   */
  async function openCard(o: { type: CrmEntityType; id: string | null; auth: PortalAuth | null; crm?: CrmReadDeps }): Promise<void> {
    phase.value = { kind: 'loading' };
    if (!o.id) return void notice('no-entity');
    const [view, crm] = await Promise.all([
      api.getWorkspace().catch((e: unknown) => failureOf(e)),
      o.auth ? readClientContacts(o.auth, o.type, o.id, o.crm) : Promise.resolve({ kind: 'failed' as const, message: 'The page has no portal token' }),
    ]);
    if ('code' in view) return void notice('failed', view);
    canManage.value = view.canManage;
    if (view.state !== 'ready') return void notice(view.state);
    if (crm.kind === 'denied') return void notice('no-access');
    if (crm.kind === 'not-found') return void notice('not-found');
    if (crm.kind === 'failed') return void notice('crm-failed', { code: 'CRM', message: crm.message });
    client.value = crm.client;
    if (!crm.client.phones.length && !crm.client.emails.length) return void notice('no-contacts');
    try {
      const found = await api.lookupChats({ phones: crm.client.phones.slice(0, 20), emails: crm.client.emails.slice(0, 20) });
      chats.value = found.chats;
      channels.value = found.channels;
      phase.value = found.openUrl ? { kind: 'workspace', url: found.openUrl } : { kind: 'new-client' };
    } catch (e) {
      notice('failed', failureOf(e));
    }
  }

  /** «Написать новому клиенту»: resolves true once the chat started and the workspace opens on it. */
  async function startChat(request: StartChatRequest): Promise<boolean> {
    if (starting.value) return false;
    starting.value = true;
    startError.value = null;
    try {
      const started = await api.startChat(request);
      phase.value = { kind: 'workspace', url: started.url };
      return true;
    } catch (e) {
      startError.value = failureOf(e);
      return false;
    } finally {
      starting.value = false;
    }
  }

  /** The workspace frame did not load in time (the page's own check). */
  function frameTimedOut(): void {
    notice('unreachable');
  }

  return { phase, canManage, client, chats, channels, starting, startError, connect, openMenu, openCard, startChat, frameTimedOut };
});
