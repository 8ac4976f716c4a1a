import { describe, expect, it } from 'vitest';
import { createPacer } from '../../server/amocrm/pacer';
import { FakeClock } from '../support/fake-clock';

const settle = () => new Promise((r) => setImmediate(r));

describe('amoCRM pacer', () => {
  it('spaces callers one interval apart (5/s under amoCRM\'s 7/s); after a 429 it pauses and doubles the interval', async () => {
    const clock = new FakeClock();
    const pacer = createPacer(5, clock);
    const released: number[] = [];
    const t0 = clock.now();
    const all = Array.from({ length: 6 }, () => pacer.acquire().then(() => released.push(clock.now() - t0)));
    await settle();
    await clock.advance(2000);
    await Promise.all(all);
    expect(released).toEqual([0, 200, 400, 600, 800, 1000]);
    pacer.throttled();
    const t2 = clock.now();
    const slow: number[] = [];
    const two = [pacer.acquire(), pacer.acquire()].map((p) => p.then(() => slow.push(clock.now() - t2)));
    await settle();
    await clock.advance(3000);
    await Promise.all(two);
    expect(slow[0]).toBeGreaterThanOrEqual(600);
    expect(slow[1]! - slow[0]!).toBe(400);
  });

  it('when the event loop stalls past several slots, then the waiting callers still go one interval apart, not in a bunch', async () => {
    let t = 0;
    let sleepers: Array<{ until: number; wake: () => void }> = [];
    const clock = { now: () => t, sleep: (ms: number) => new Promise<void>((wake) => sleepers.push({ until: t + ms, wake })) };
    /** Wakes every sleeper that is due at the current time (late, if the time jumped), letting the woken run. */
    const wakeDue = async () => {
      for (let i = 0; i < 20; i++) {
        const due = sleepers.filter((s) => s.until <= t);
        sleepers = sleepers.filter((s) => s.until > t);
        due.forEach((s) => s.wake());
        await settle();
      }
    };
    const pacer = createPacer(5, clock);
    const released: number[] = [];
    const all = Array.from({ length: 4 }, () => pacer.acquire().then(() => released.push(t)));
    await wakeDue();
    expect(released).toEqual([0]);
    for (const at of [3000, 3200, 3400]) {
      t = at; // first a 3-second stall: every slot reserved before it is overdue
      await wakeDue();
    }
    await Promise.all(all);
    expect(released).toEqual([0, 3000, 3200, 3400]);
  });
});
