/**
 * The bridge's start-up reconcile with many portals (issue #12, one instance serving 1,000
 * portals): the portals are reconciled a few at a time, not all at once (all their Data API
 * requests, connections and replies in memory together), and each portal's relay still waits for
 * its own reconcile — at most `holdMs` counted from its turn. FakeClock; the Data API is a fake fetch.
 */
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../server/logging';
import { createBridgeRecovery, type BridgeRecoveryDeps } from '../../server/services/bridge/recovery';
import { createDataApiBudget } from '../../server/uis/data-api-budget';
import { FakeClock } from '../support/fake-clock';

const log = createLogger({ level: 'silent' });
const turn = async (n = 10) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};

function world(o: { portals: number; startupConcurrency?: number }) {
  const clock = new FakeClock();
  let inFlight = 0;
  let most = 0;
  const waiting: Array<() => void> = [];
  const fetchFake = (async (_u: unknown, init?: { body?: unknown }) => {
    most = Math.max(most, ++inFlight);
    await new Promise<void>((r) => waiting.push(r));
    inFlight--;
    const id = JSON.parse(String(init?.body ?? '{}')).id ?? 1;
    return new Response(JSON.stringify({ jsonrpc: '2.0', id, result: { data: [], metadata: {} } }), { headers: { 'content-type': 'application/json' } });
  }) as typeof fetch;
  const recovery = createBridgeRecovery(
    {
      bridge: { link: () => null, linkByUisMessage: () => null },
      recovery: {
        connectionStatus: () => 'active',
        targets: () => [{ lineId: '1', channelId: 'c1', boundAt: 0, reconciledTill: null }],
        setReconciledTill: () => {},
        noteRun: () => {},
      },
      links: { get: async (m: string) => ({ memberId: m, accessToken: 'token', connectionId: 'conn', login: 'l', project: 'comagic' }) },
      channels: { get: async () => ({ status: 'active', chatChannelId: '5' }), list: async () => [] },
      gateway: {},
      uisEndpoints: () => ({ dataApiUrl: 'http://uis.test/data' }),
      budget: createDataApiBudget({ clock }),
      clock,
      log,
      fetch: fetchFake,
      wake: () => {},
    } as unknown as BridgeRecoveryDeps,
    { startupConcurrency: o.startupConcurrency },
  );
  const portals = Array.from({ length: o.portals }, (_, i) => `p${i}`);
  /** the relay's gates, as the bridge worker keeps them */
  const gates = new Map<string, number>();
  const hold = { gate: (m: string, until: number) => void gates.set(m, until), ungate: async (m: string) => void gates.delete(m) };
  return {
    clock,
    recovery,
    portals,
    gates,
    hold,
    inFlight: () => inFlight,
    most: () => most,
    /** answers every request waiting now */
    answerAll: () => waiting.splice(0).forEach((r) => r()),
  };
}

describe('bridge start-up reconcile of many portals', () => {
  it('reconciles at most 16 portals at once by default; every portal is reconciled and let go', async () => {
    const w = world({ portals: 100 });
    w.recovery.start({ portals: () => w.portals, reconcileMs: 3_600_000, auditMs: 86_400_000, hold: w.hold });
    await turn(50);
    expect(w.inFlight()).toBe(16);
    expect(w.gates.size).toBe(100); // every portal's relay waits for its reconcile
    for (let i = 0; i < 200 && w.gates.size; i++) {
      w.answerAll();
      await turn(20);
    }
    w.recovery.stop();
    expect(w.gates.size).toBe(0);
    expect(w.most()).toBe(16);
  });

  it('a portal late in the line waits at most holdMs from its own turn', async () => {
    const w = world({ portals: 3, startupConcurrency: 1 });
    w.recovery.start({ portals: () => w.portals, reconcileMs: 3_600_000, auditMs: 86_400_000, holdMs: 30_000, hold: w.hold });
    await turn(50);
    expect(w.inFlight()).toBe(1);
    expect(w.gates.get('p2')).toBe(w.clock.now() + 30_000);
    await w.clock.advance(20_000);
    // p0 done at +20 s (its requests answered; p1's first request then waits)
    for (let i = 0; i < 20 && w.gates.has('p0'); i++) {
      w.answerAll();
      await turn(20);
    }
    expect(w.gates.has('p0')).toBe(false);
    expect(w.inFlight()).toBe(1);
    expect(w.gates.get('p1')).toBe(w.clock.now() + 30_000); // counted from its turn
    for (let i = 0; i < 50 && w.gates.size; i++) {
      w.answerAll();
      await turn(20);
    }
    w.recovery.stop();
    expect(w.gates.size).toBe(0);
  });
});
