import { Router } from 'express';
import { collectHealthMetrics } from '../../services/health/metrics';
import type { AppDeps } from '../deps';
import { restUsed } from './health-view';

/** Liveness/readiness and Prometheus metrics. */
export function healthRouter(deps: AppDeps): Router {
  const router = Router();
  router.get('/healthz', async (_req, res) => {
    try {
      await deps.healthCheck();
      res.json({ status: 'ok' });
    } catch (e) {
      deps.log.error({ err: e }, 'health check failed');
      res.status(503).json({ status: 'unavailable' });
    }
  });
  // readiness: whether a balancer should send new work here (503 while draining, see lifecycle.ts)
  router.get('/readyz', async (_req, res) => {
    if (deps.isDraining?.()) {
      res.status(503).json({ status: 'draining' });
      return;
    }
    try {
      await deps.healthCheck();
      res.json({ status: 'ready' });
    } catch (e) {
      deps.log.error({ err: e }, 'readiness check failed');
      res.status(503).json({ status: 'unavailable' });
    }
  });
  router.get('/metrics', async (_req, res) => {
    const byStatus = await deps.portals.countByStatus();
    deps.metrics.portals.reset();
    for (const [status, n] of Object.entries(byStatus)) deps.metrics.portals.set({ status }, n);
    await collectHealthMetrics({ store: deps.health.store, clock: deps.clock, restUsed: restUsed(deps) }, deps.metrics.health);
    res.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });
  return router;
}
