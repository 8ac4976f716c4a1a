/**
 * amoCRM pacing shared by the instances of a cluster (issue #12): amoCRM allows an account 7
 * requests per second whichever instance sends them (Kommo «Limitations»), so two instances' amoCRM
 * gateways on one database (migration 030) send as one gateway would: 5 per second, 200 ms apart.
 * Time is a FakeClock, never the wall clock.
 */
import { describe, expect, it } from 'vitest';
import { createAmoGateway, type AmoTokenStore } from '../../server/amocrm/client';
import { openDb } from '../../server/storage/db';
import { createSqliteAmoPacingStore } from '../../server/storage/amocrm-pacing-repository';
import { FakeClock } from '../support/fake-clock';

const ORIGIN = 'https://acme.amocrm.ru';

function instances() {
  const clock = new FakeClock();
  const db = openDb(':memory:');
  const sent: Array<{ at: number; by: string }> = [];
  const store: AmoTokenStore = {
    load: async () => ({ origin: ORIGIN, tokens: { accessToken: 'a', refreshToken: 'r', expiresAt: clock.now() + 86_400_000 }, status: 'active' }),
    saveTokens: async () => true,
    leaseRefresh: async () => true,
    releaseRefresh: async () => {},
    setStatus: async () => {},
  };
  const gateway = (by: string, status = () => 200) =>
    createAmoGateway({
      store,
      oauth: { clientId: 'c', clientSecret: 's', redirectUri: 'https://app.example/cb', trustedHosts: [ORIGIN] },
      clock,
      pacing: createSqliteAmoPacingStore(db, () => clock.now()),
      fetch: (async () => {
        sent.push({ at: clock.now(), by });
        const code = status();
        return new Response(code === 200 ? '{}' : JSON.stringify({ title: 'Too Many Requests' }), { status: code });
      }) as typeof fetch,
    });
  return { clock, sent, gateway };
}

/** Moves the clock in 10 ms steps until every promise settled (at most `ms`). */
async function run(clock: FakeClock, all: Array<Promise<unknown>>, ms: number) {
  let done = false;
  void Promise.allSettled(all).then(() => (done = true));
  for (let t = 0; t < ms && !done; t += 10) {
    await new Promise((r) => setImmediate(r));
    await clock.advance(10);
  }
  await Promise.all(all);
}

describe('amoCRM pacing shared by two instances', () => {
  it('two instances sending at once stay at 5 requests per second for the account together (amoCRM: 7)', async () => {
    const { clock, sent, gateway } = instances();
    const a = gateway('a').client('p1');
    const b = gateway('b').client('p1');
    const all = Array.from({ length: 10 }, (_, i) => [a.get(`/api/v4/leads/${i}`), b.get(`/api/v4/contacts/${i}`)]).flat();
    await run(clock, all, 10_000);
    expect(sent).toHaveLength(20);
    expect(new Set(sent.map((s) => s.by))).toEqual(new Set(['a', 'b'])); // both instances did send
    const at = sent.map((s) => s.at).sort((x, y) => x - y);
    for (let i = 1; i < at.length; i++) expect(at[i]! - at[i - 1]!).toBeGreaterThanOrEqual(200);
    for (const t of at) expect(at.filter((u) => u >= t && u < t + 1000).length).toBeLessThanOrEqual(5);
  });

  it('a 429 seen by one instance pauses the other one too', async () => {
    const { clock, sent, gateway } = instances();
    let first = true;
    const a = gateway('a', () => (first ? ((first = false), 429) : 200)).client('p1');
    const b = gateway('b').client('p1');
    const t0 = clock.now();
    const retried = a.get('/api/v4/account'); // 429 at once: a slows down and pauses
    for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
    expect(sent).toEqual([{ at: t0, by: 'a' }]);
    await run(clock, [retried, b.get('/api/v4/account')], 5000);
    const bAt = sent.find((s) => s.by === 'b')!.at;
    // a's pause (1 s, its interval now 400 ms) holds b back too: nobody sends before t0 + 800
    expect(bAt - t0).toBeGreaterThanOrEqual(800);
    expect(sent).toHaveLength(3);
  });
});
