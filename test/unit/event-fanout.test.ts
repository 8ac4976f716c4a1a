import { describe, expect, it } from 'vitest';
import type { BitrixEvent } from '../../server/bitrix/event-schemas';
import { createLogger } from '../../server/logging';
import type { BridgeEventDeps } from '../../server/services/bridge/on-bitrix-event';
import { bitrixEventFanout, type BitrixEventFanoutDeps } from '../../server/services/event-fanout';
import type { OpenLinesRepository } from '../../server/services/open-lines/ports';

/** The Bitrix24 event fan-out (event-fanout.ts) with the analytics store failing (issue #12: the stores answer asynchronously). */
describe('Bitrix24 event fan-out', () => {
  it('a failing analytics store is logged and the other consumers still hear the event', async () => {
    const logged: Array<{ msg?: string; event?: string }> = [];
    const log = createLogger({ level: 'info', destination: { write: (s: string) => void logged.push(JSON.parse(s) as { msg?: string }) } });
    const clock = { now: () => 1_000, sleep: async () => {} };
    const enqueued: number[] = [];
    const deps: BitrixEventFanoutDeps = {
      log,
      analytics: {
        analytics: { getSettings: () => Promise.reject(new Error('store down')) } as unknown as BitrixEventFanoutDeps['analytics']['analytics'],
        analyticsWorker: { wake: () => {} } as unknown as BitrixEventFanoutDeps['analytics']['analyticsWorker'],
        clock,
      },
      openLines: {
        openLines: { isEnabled: async () => true, enqueue: async (_m: string, _t: string, id: number) => (enqueued.push(id), true) } as unknown as OpenLinesRepository,
        openLinesWorker: { wake: () => {} },
        clock,
      },
      bridge: {} as BridgeEventDeps,
    };
    const ev = { event: 'ONCRMLEADADD', data: { FIELDS: { ID: 42 } } } as unknown as BitrixEvent;
    await expect(bitrixEventFanout(deps)('p1', ev)).resolves.toBeUndefined();
    expect(logged.filter((l) => l.msg === 'analytics intake failed')).toEqual([expect.objectContaining({ event: 'ONCRMLEADADD' })]);
    expect(enqueued).toEqual([42]);
  });
});
