import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { HANDLER_PATHS } from '../../../install/plan';
import type { Boot, PageName } from '../../contracts/boot';
import { AppError } from '../../domain/errors';
import { acceptInstall } from '../../services/accept-install';
import { verifyFrameUser } from '../../services/verify-frame-user';
import { pageCsp, portalOrigin } from '../csp';
import type { AppDeps } from '../deps';

/** Handler URL → page. These paths are what the vendor cabinet's app card points at: keep them stable. */
export const PAGE_ROUTES: ReadonlyArray<readonly [string, PageName]> = [
  [HANDLER_PATHS.install, 'install'],
  [HANDLER_PATHS.app, 'app'],
  [HANDLER_PATHS.leftMenu, 'left-menu'],
  [HANDLER_PATHS.crmTab, 'crm-tab'],
  [HANDLER_PATHS.connector, 'connector'],
];

/** What the portal POSTs to every handler URL (docs/facts/bitrix24.md#app-page-post). */
const formSchema = z.object({
  AUTH_ID: z.string().min(1).max(512),
  AUTH_EXPIRES: z.coerce.number().int().min(0).max(86_400).optional().catch(undefined),
  REFRESH_ID: z.string().max(512).optional(),
  member_id: z.string().regex(/^[0-9a-zA-Z]{8,64}$/, 'member_id must be the portal id'),
  SERVER_ENDPOINT: z.string().max(512).optional(),
  APPLICATION_TOKEN: z.string().max(256).optional(),
  PLACEMENT: z.string().max(128).default('DEFAULT'),
  PLACEMENT_OPTIONS: z.string().max(16_384).optional(),
});
const querySchema = z.object({ DOMAIN: z.string().max(255).optional(), LANG: z.string().max(8).optional() });

export function pagesRouter(deps: AppDeps): Router {
  const router = Router();
  for (const [path, page] of PAGE_ROUTES) {
    router.get(path, (req, res) => servePage(deps, page, req, res));
    router.post(path, (req, res) => servePage(deps, page, req, res));
  }
  return router;
}

async function servePage(deps: AppDeps, page: PageName, req: Request, res: Response): Promise<void> {
  const query = querySchema.safeParse(req.query);
  const lang = toLang(query.success ? query.data.LANG : undefined);
  const base: Boot = { page, lang, session: null, memberId: null, placement: 'DEFAULT', placementOptions: {}, isAdmin: false, error: null };
  const body = (req.body ?? {}) as Record<string, unknown>;
  if (req.method === 'GET' || !('AUTH_ID' in body || 'member_id' in body)) {
    const error = { code: 'NOT_IN_BITRIX24', message: 'Open this page from Bitrix24: it is a page of the UIS OMNI app.' };
    return send(deps, res, req, req.method === 'GET' ? 200 : 400, { ...base, error }, null);
  }
  const form = formSchema.safeParse(body);
  if (!form.success) {
    const message = form.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    return send(deps, res, req, 400, { ...base, error: { code: 'MALFORMED_REQUEST', message } }, null);
  }
  const f = form.data;
  const domain = query.success ? query.data.DOMAIN : undefined;
  const boot: Boot = { ...base, memberId: f.member_id, placement: f.PLACEMENT, placementOptions: parseOptions(f.PLACEMENT_OPTIONS) };
  try {
    if (page === 'install') {
      if (!f.REFRESH_ID || !f.SERVER_ENDPOINT || !f.APPLICATION_TOKEN || !domain) {
        throw new AppError('MALFORMED_REQUEST', 'The install request lacks REFRESH_ID, SERVER_ENDPOINT, APPLICATION_TOKEN or DOMAIN', 400);
      }
      const { portal, userId } = await acceptInstall(deps, {
        memberId: f.member_id,
        serverEndpoint: f.SERVER_ENDPOINT,
        refreshToken: f.REFRESH_ID,
        applicationToken: f.APPLICATION_TOKEN,
        domain,
      });
      const session = deps.sessions.issue({ memberId: portal.memberId, userId, isAdmin: true });
      return send(deps, res, req, 200, { ...boot, session, isAdmin: true }, portalOrigin(portal));
    }
    const user = await verifyFrameUser(deps, { memberId: f.member_id, domain, authId: f.AUTH_ID });
    const session = deps.sessions.issue({ memberId: user.portal.memberId, userId: user.userId, isAdmin: user.isAdmin });
    // CRM tabs read the card with the viewing user's rights, straight from the portal (issue #5).
    const portalAuth =
      page === 'crm-tab'
        ? { accessToken: f.AUTH_ID, expiresIn: f.AUTH_EXPIRES ?? 3600, restUrl: user.portal.clientEndpoint }
        : undefined;
    return send(deps, res, req, 200, { ...boot, session, isAdmin: user.isAdmin, portalAuth }, portalOrigin(user.portal));
  } catch (e) {
    if (!(e instanceof AppError)) throw e;
    deps.log.warn({ page, code: e.code, memberId: f.member_id }, 'page request refused');
    return send(deps, res, req, e.httpStatus, { ...boot, error: { code: e.code, message: e.message } }, null);
  }
}

async function send(deps: AppDeps, res: Response, req: Request, status: number, boot: Boot, frameOrigin: string | null) {
  const html = await deps.renderer.render(boot.page, boot, req.originalUrl);
  // The workspace pages frame the UIS operator workspace (issue #5).
  const frames = boot.page === 'left-menu' || boot.page === 'crm-tab' ? [new URL(deps.uisEndpoints('uis').workspaceUrl).origin] : [];
  res.status(status).setHeader('Content-Security-Policy', pageCsp(frameOrigin, !!deps.dev, frames));
  res.setHeader('Cache-Control', 'no-store');
  res.type('html').send(html);
}

/** Bitrix24 UI languages that read Russian get Russian; everyone else English. */
export function toLang(lang: string | undefined): 'ru' | 'en' {
  return lang && ['ru', 'by', 'kz'].includes(lang.toLowerCase()) ? 'ru' : 'en';
}

/** PLACEMENT_OPTIONS is a JSON string, `""` or absent (docs/facts/bitrix24-frame.md#frame-pitfalls pitfall 8). */
function parseOptions(raw: string | undefined): Record<string, unknown> {
  if (!raw) return {};
  try {
    const v: unknown = JSON.parse(raw);
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
