import type { Harness } from '../support/harness';

/**
 * Waits until the chat sources' queue has nothing due soon (items wait a gather window, and retries
 * further out count as settled), draining the worker in between. Bounded: ~20 s.
 */
export async function settleSources(h: Harness, horizonMs = 5_000): Promise<void> {
  for (let i = 0; i < 200; i++) {
    await h.app.deps.background.idle();
    await h.app.deps.chatSourcesWorker.drain();
    const next = await h.app.deps.chatSources.sources.nextDueAt();
    const now = h.app.deps.clock.now();
    if (next === null || next > now + horizonMs) return;
    await new Promise((r) => setTimeout(r, Math.max(20, Math.min(200, next - now))));
  }
  throw new Error('chat sources did not settle');
}
