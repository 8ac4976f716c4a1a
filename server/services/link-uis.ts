import { randomBytes } from 'node:crypto';
import type { UisLinkRequest, UisLinkView, UisProject } from '../contracts/uis';
import type { Clock } from '../domain/clock';
import { AppError } from '../domain/errors';
import { adapterTypeFor, webhookUrlFor, type UisLink } from '../domain/uis-link';
import type { Logger } from '../logging';
import type { AsyncPort } from './async-port';
import type { UisEndpoints, UisLinkRepository, UisManagement } from './ports';

export interface LinkUisDeps {
  links: AsyncPort<UisLinkRepository>;
  /** The portal's domain, for naming the connection in the UIS account. */
  portalDomain(memberId: string): Promise<string>;
  uis: UisManagement;
  uisEndpoints(project: UisProject): UisEndpoints;
  appUrl: string;
  log: Logger;
  clock: Clock;
}

const secret = (bytes: number) => randomBytes(bytes).toString('base64url');

/**
 * Link a portal to a UIS account: check the Data API key, log in to the Chat API management,
 * register (or update) our adapter with a callback URL and a fresh bearer secret, connect it to
 * the account, then store everything encrypted. Re-linking the same account is idempotent.
 * CoMagic accounts cannot use this integration yet (seeds: the operator frame works for UIS only).
 */
export async function linkUis(deps: LinkUisDeps, memberId: string, req: UisLinkRequest): Promise<UisLink> {
  if (req.project === 'comagic') {
    throw new AppError('COMAGIC_NOT_SUPPORTED', 'CoMagic accounts cannot use this integration yet; only UIS (uiscom.ru) accounts can be linked', 400, true, { field: 'project' });
  }
  const e = deps.uisEndpoints(req.project);
  const account = await step('UIS_DATA_API_REFUSED', 'UIS did not accept the Data API key', 'dataApiToken', () => deps.uis.verifyDataApi(e, req.dataApiToken));
  const jwt = await step('UIS_AUTH_FAILED', 'UIS did not accept the login or password', 'password', () => deps.uis.login(e, req.project, req.login, req.password));
  const previous = await deps.links.get(memberId);
  const same = previous && previous.accountId === account.accountId;
  const hookId = same ? previous.hookId : secret(18);
  const webhookSecret = secret(32);
  const adapterLogin = same ? previous.adapterLogin : `b24omni-${secret(9)}`;
  const adapterPassword = secret(24);
  const { adapterId } = await step('UIS_ADAPTER_FAILED', 'UIS refused to register the chat adapter', 'login', () =>
    deps.uis.ensureAdapter(e, jwt, {
      type: adapterTypeFor(memberId),
      name: 'UIS OMNI для Битрикс24',
      login: adapterLogin,
      password: adapterPassword,
      webhookUrl: webhookUrlFor(deps.appUrl, hookId),
      webhookSecret,
    }),
  );
  const link: UisLink = {
    memberId,
    project: req.project,
    login: req.login,
    password: req.password,
    dataApiToken: req.dataApiToken,
    accountId: account.accountId,
    accountName: account.accountName,
    adapterId,
    connectionId: same ? previous.connectionId : null,
    adapterLogin,
    adapterPassword,
    hookId,
    webhookSecret,
    linkedAt: new Date(deps.clock.now()).toISOString(),
    lastError: null,
  };
  const connectionName = `Битрикс24 ${await deps.portalDomain(memberId)}`;
  // UIS calls the webhook (POST /account, /channel) before it answers the connect, so the
  // link must already be known to our callback endpoint; a failed connect rolls it back.
  await deps.links.save(link);
  try {
    const { connectionId } = await step('UIS_CONNECT_FAILED', 'UIS refused to connect the adapter to the account', 'login', () =>
      deps.uis.connectAccount(e, jwt, adapterId, connectionName),
    );
    link.connectionId = connectionId;
  } catch (err) {
    if (same) await deps.links.save({ ...previous, lastError: (err as Error).message });
    else {
      await deps.links.delete(memberId);
      await deps.uis.disconnect(e, jwt, { adapterId, connectionId: null }).catch(() => undefined);
    }
    throw err;
  }
  await deps.links.save(link);
  deps.log.info({ memberId, accountId: link.accountId }, 'UIS account linked');
  return link;
}

/** Unlink: remove our adapter and connection in UIS (best effort), then forget the link. */
export async function unlinkUis(deps: LinkUisDeps, memberId: string): Promise<{ remoteCleaned: boolean }> {
  const link = await deps.links.get(memberId);
  if (!link) return { remoteCleaned: true };
  let remoteCleaned = true;
  try {
    const e = deps.uisEndpoints(link.project);
    const jwt = await deps.uis.login(e, link.project, link.login, link.password);
    await deps.uis.disconnect(e, jwt, { adapterId: link.adapterId, connectionId: link.connectionId });
  } catch (err) {
    remoteCleaned = false;
    deps.log.warn({ memberId, code: (err as { code?: string }).code }, 'UIS side could not be cleaned up on unlink');
  }
  await deps.links.delete(memberId);
  deps.log.info({ memberId, remoteCleaned }, 'UIS account unlinked');
  return { remoteCleaned };
}

export function toLinkView(link: UisLink | null, appUrl: string): UisLinkView {
  if (!link) return { linked: false, project: null, login: null, accountId: null, accountName: null, linkedAt: null, webhookUrl: null, lastError: null };
  return {
    linked: true,
    project: link.project,
    login: link.login,
    accountId: link.accountId,
    accountName: link.accountName,
    linkedAt: link.linkedAt,
    webhookUrl: webhookUrlFor(appUrl, link.hookId),
    lastError: link.lastError,
  };
}

/**
 * One step of linking; a refusal names the form field at fault (`field`) and UIS's own mnemonic
 * (`reason`: auth_error, access_token_invalid, ip_not_whitelisted…) so the page can say, on that
 * field and in the portal's language, what is wrong and what fixes it.
 */
async function step<T>(code: string, message: string, field: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (e) {
    const detail = (e as { code?: string }).code;
    const transient = (e as { transient?: boolean }).transient === true;
    const remote = e instanceof Error ? e.message.slice(0, 300) : '';
    if (transient) throw new AppError('UIS_UNAVAILABLE', 'UIS is not reachable right now; try again in a minute', 503, true, detail ? { reason: detail } : {});
    throw new AppError(code, `${message}${detail ? ` — ${remote}` : ''}`, 400, true, { field, ...(detail ? { reason: detail } : {}) });
  }
}
