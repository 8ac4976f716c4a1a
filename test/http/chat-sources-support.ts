import type { Harness } from '../support/harness';

/**
 * Waits until the chat sources' queue has nothing pending and nothing waiting that is due within
 * `horizonMs` (retries further out count as settled), draining the worker in between. Bounded.
 */
export async function settleSources(h: Harness, horizonMs = 5_000): Promise<void> {
  for (let i = 0; i < 200; i++) {
    await h.app.deps.background.idle();
    await h.app.deps.chatSourcesWorker.drain();
    const next = await h.app.deps.chatSources.sources.nextDueAt();
    const now = h.app.deps.clock.now();
    const pending = (await h.app.deps.chatSources.sources.recent(h.portal.memberId, null, 1000)).some((i) => i.status === 'pending');
    if (!pending && (next === null || next > now + horizonMs)) return;
    await new Promise((r) => setTimeout(r, Math.max(20, Math.min(200, (next ?? now) - now))));
  }
  throw new Error('chat sources did not settle');
}
