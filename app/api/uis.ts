import { uisLinkRequestSchema, uisLinkViewSchema, type UisLinkRequest, type UisLinkView } from '../../server/contracts/uis';
import { apiRequest, ApiRequestError, type ApiContext } from './api-request';

const PATH = '/api/uis/link';

async function readView(res: Response): Promise<UisLinkView> {
  const parsed = uisLinkViewSchema.safeParse(await res.json().catch(() => null));
  if (!parsed.success) throw new ApiRequestError('BAD_RESPONSE', 'The server sent an unexpected UIS account description.', res.status);
  return parsed.data;
}

/** GET /api/uis/link: the portal's UIS account link (`linked: false` when there is none). */
export async function getUisLink(ctx: ApiContext): Promise<UisLinkView> {
  return readView(await apiRequest(ctx, PATH, { headers: { Accept: 'application/json' } }));
}

/**
 * POST /api/uis/link (admins only): checks the credentials with UIS and links the account.
 * The request is validated with the contract schema first, so a bad form never reaches the server;
 * the secrets are sent once and never come back.
 * @throws ApiRequestError `VALIDATION_FAILED` for an invalid request, else as apiRequest does
 *   (the server's `{error, message}` for 4xx: `UIS_AUTH_FAILED`, `COMAGIC_NOT_SUPPORTED`, …).
 */
export async function linkUis(ctx: ApiContext, request: UisLinkRequest): Promise<UisLinkView> {
  const body = uisLinkRequestSchema.safeParse(request);
  if (!body.success) {
    const message = body.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ');
    throw new ApiRequestError('VALIDATION_FAILED', message);
  }
  const res = await apiRequest(ctx, PATH, {
    method: 'POST',
    headers: { Accept: 'application/json', 'Content-Type': 'application/json' },
    body: JSON.stringify(body.data),
  });
  return readView(res);
}

/** DELETE /api/uis/link (admins only): forgets the account; answers the now unlinked view. */
export async function unlinkUis(ctx: ApiContext): Promise<UisLinkView> {
  return readView(await apiRequest(ctx, PATH, { method: 'DELETE', headers: { Accept: 'application/json' } }));
}
