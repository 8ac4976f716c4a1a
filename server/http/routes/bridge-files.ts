import { Router } from 'express';
import type { AppDeps } from '../deps';

/**
 * `GET /files/uis/<member>/<channel>/<resource>/<token>/<name>?exp=&sig=`: a UIS resource
 * re-hosted for the portal (docs/facts/uis.md#rule-20). Only signed, unexpired links are served;
 * the bytes are fetched from the UIS runtime with the portal's adapter credentials.
 */
export function bridgeFilesRouter(deps: AppDeps): Router {
  const router = Router();
  router.get('/files/uis/:memberId/:channelId/:resourceId/:token/:name', async (req, res) => {
    const p = req.params as Record<string, string>;
    const ref = deps.bridgeFiles.verify(
      { memberId: p.memberId!, channelId: p.channelId!, resourceId: p.resourceId!, token: p.token!, name: p.name! },
      String(req.query.exp ?? ''),
      String(req.query.sig ?? ''),
    );
    if (!ref) {
      res.status(403).json({ error: 'LINK_REFUSED', message: 'The file link is invalid or expired' });
      return;
    }
    // like a page session, a link outlives nothing: the portal must still have the app
    const portal = await deps.portals.get(ref.memberId);
    const link = portal && portal.status !== 'deleted' ? await deps.links.get(ref.memberId) : null;
    if (!link?.connectionId) {
      res.status(404).json({ error: 'NOT_FOUND', message: 'No such file' });
      return;
    }
    try {
      const f = await deps.workspace.runtime(link).downloadResource({ accountId: link.connectionId, channelId: ref.channelId }, { id: ref.resourceId, token: ref.token });
      res.status(200).type(f.mime).setHeader('Cache-Control', 'private, max-age=3600');
      res.setHeader('Content-Disposition', `inline; filename*=UTF-8''${encodeURIComponent(ref.name)}`);
      res.end(Buffer.from(f.content));
    } catch (e) {
      const status = (e as { httpStatus?: number }).httpStatus;
      res.status(status === 404 ? 404 : 502).json({ error: 'UIS_UNAVAILABLE', message: 'UIS did not give the file' });
    }
  });
  return router;
}
