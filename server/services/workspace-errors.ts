import { AppError } from '../domain/errors';
import type { UisLink } from '../domain/uis-link';
import type { AsyncPort } from './async-port';
import type { UisLinkRepository } from './ports';

/** The caller's UIS link, refused with a coded error when the workspace cannot use it. */
export async function usableLink(links: AsyncPort<UisLinkRepository>, memberId: string): Promise<UisLink & { connectionId: string }> {
  const link = await links.get(memberId);
  if (!link || !link.connectionId) throw new AppError('NOT_LINKED', 'No UIS account is linked to this portal: an administrator links it on the app page', 409);
  if (link.project === 'comagic') throw new AppError('COMAGIC_NOT_SUPPORTED', 'The UIS operator workspace does not work for CoMagic accounts yet', 409);
  return link as UisLink & { connectionId: string };
}

/**
 * A failed UIS call as the page should hear it: down or throttling → 503 UIS_UNAVAILABLE (try
 * later); a refusal → `code` with UIS's own words, which usually name the rule that was broken.
 */
export function uisFailure(e: unknown, code: string, message: string): AppError {
  if (e instanceof AppError) return e;
  const err = e as { transient?: boolean; code?: string; message?: string; field?: string };
  if (err.transient === true) return new AppError('UIS_UNAVAILABLE', 'UIS is not reachable right now; try again in a minute', 503);
  const detail = typeof err.message === 'string' ? `${err.message.slice(0, 300)}${err.field ? ` [${err.field}]` : ''}` : '';
  return new AppError(code, detail ? `${message}: ${detail}` : message, 502);
}

/** A failed Bitrix24 call as the page should hear it: re-authorisation needed (409), else 502 naming `what` failed. */
export function portalFailure(e: unknown, what: string): AppError {
  if (e instanceof AppError) return e;
  const code = (e as { code?: string }).code ?? (e as Error).message ?? 'ERROR';
  if (code === 'REAUTH_REQUIRED') return new AppError('REAUTH_REQUIRED', 'The portal must be re-authorised: an administrator has to open the app again', 409);
  return new AppError('PORTAL_ERROR', `Bitrix24 did not ${what} (${code})`, 502);
}
