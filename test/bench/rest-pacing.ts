import type { Clock } from '../../server/domain/clock';
import { installApp, startHarness } from '../support/harness';

export interface PacingResult {
  calls: number;
  completed: number;
  failed: number;
  limited503: number;
  virtualSeconds: number;
  minimalSeconds: number;
  shareOfAllowed: number;
}

/**
 * 1,000 REST calls through one portal's client, all issued at once, against the emulator's
 * leaky bucket. The allowed rate is what the bucket permits: an empty bucket takes `burst`
 * requests at once, then `drainPerSec` per second, so N calls need at least (N − burst) / drain s.
 */
export async function benchRestPacing(o: { clock: Clock; calls: number; rateLimit: { drainPerSec: number; burst: number } }): Promise<PacingResult> {
  const h = await startHarness({ clock: o.clock, rateLimit: o.rateLimit, env: { LOG_LEVEL: 'warn', B24_RATE_LIMIT: `${o.rateLimit.drainPerSec}/${o.rateLimit.burst}` } });
  try {
    await installApp(h);
    // let both buckets drain completely so the run starts from an empty bucket
    await o.clock.sleep((o.rateLimit.burst / o.rateLimit.drainPerSec) * 1000 + 1000);
    const limitedBefore = h.portal.stats.limited503;
    const rest = h.app.deps.gateway.client(h.portal.memberId);
    const start = o.clock.now();
    const results = await Promise.allSettled(Array.from({ length: o.calls }, (_, i) => rest.call('server.time', { n: i })));
    const virtualSeconds = (o.clock.now() - start) / 1000;
    const minimalSeconds = Math.max(0, o.calls - o.rateLimit.burst) / o.rateLimit.drainPerSec;
    return {
      calls: o.calls,
      completed: results.filter((r) => r.status === 'fulfilled').length,
      failed: results.filter((r) => r.status === 'rejected').length,
      limited503: h.portal.stats.limited503 - limitedBefore,
      virtualSeconds,
      minimalSeconds,
      shareOfAllowed: minimalSeconds / virtualSeconds,
    };
  } finally {
    await h.close();
  }
}
