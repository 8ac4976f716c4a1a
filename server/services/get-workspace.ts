import type { WorkspaceView } from '../contracts/workspace';
import { workspaceUrl } from '../domain/workspace';
import { findOperator } from './find-operator';
import type { WorkspaceCaller, WorkspaceDeps } from './workspace-ports';

/**
 * What the left-menu page (and a CRM tab, before it looks the client up) may frame: the UIS
 * operator workspace of the linked account, or the reason it cannot — not linked, a CoMagic
 * account (the РМО frame works for UIS accounts only: seeds, «Работа с фреймом РМО внутри Б24»),
 * or the workspace host not answering our server. When the Bitrix24 user maps to a UIS
 * employee the link names them as the operator; a failed mapping only leaves that out.
 */
export async function getWorkspace(deps: WorkspaceDeps, caller: WorkspaceCaller): Promise<WorkspaceView> {
  const canManage = caller.isAdmin;
  const link = await deps.links.get(caller.memberId);
  if (!link || !link.connectionId) return { state: 'not-linked', url: null, canManage };
  if (link.project === 'comagic') return { state: 'comagic', url: null, canManage };
  const base = deps.uisEndpoints(link.project).workspaceUrl;
  const [reachable, operator] = await Promise.all([
    deps.probe.reachable(base),
    findOperator(deps, link, caller.userId, { reuseMiss: true }).catch((e: unknown) => {
      deps.log.debug({ memberId: caller.memberId, userId: caller.userId, code: (e as { code?: string }).code }, 'workspace: no UIS operator for the user');
      return null;
    }),
  ]);
  if (!reachable) return { state: 'unreachable', url: null, canManage };
  return { state: 'ready', url: workspaceUrl(base, { accountId: link.accountId, operatorId: operator?.id }), canManage };
}
