import { describe, expect, it } from 'vitest';
import { systemClock } from '../../server/domain/clock';
import { createLogger } from '../../server/logging';
import { createJobLoop } from '../../server/services/job-loop';

const log = createLogger({ level: 'silent' });
const tick = (ms = 5) => new Promise((r) => setTimeout(r, ms));

/** Jobs per portal: a count of due jobs; processPortal takes them all (after `gate` for portal "slow"). */
function world(o: { concurrency?: number } = {}) {
  const due = new Map<string, number>();
  const active = new Map<string, number>();
  const log_: string[] = [];
  let maxSame = 0;
  let runningNow = 0;
  let maxRunning = 0;
  let release: () => void = () => undefined;
  const gate = new Promise<void>((r) => (release = r));
  const loop = createJobLoop({
    name: 'test',
    clock: systemClock,
    log,
    debounceMs: 1,
    concurrency: o.concurrency,
    portalsWithDueJobs: () => [...due.entries()].filter(([, n]) => n > 0).map(([m]) => m),
    nextDueAt: () => ([...due.values()].some((n) => n > 0) ? 0 : null),
    async processPortal(m) {
      active.set(m, (active.get(m) ?? 0) + 1);
      maxSame = Math.max(maxSame, active.get(m)!);
      maxRunning = Math.max(maxRunning, ++runningNow);
      log_.push(`start ${m}`);
      if (m === 'slow') await gate;
      await tick(1);
      due.set(m, 0);
      log_.push(`end ${m}`);
      active.set(m, active.get(m)! - 1);
      runningNow--;
    },
  });
  return { due, loop, log: log_, release, maxSame: () => maxSame, maxRunning: () => maxRunning };
}

describe('job loop', () => {
  it('a portal whose run waits (rate limit, slow portal) does not hold up the others', async () => {
    const w = world();
    w.due.set('slow', 5);
    w.loop.wake();
    await tick(20);
    w.due.set('a', 1);
    w.due.set('b', 1);
    w.loop.wake();
    for (let i = 0; i < 50 && !(w.log.includes('end a') && w.log.includes('end b')); i++) await tick();
    expect(w.log).toContain('end a');
    expect(w.log).toContain('end b');
    expect(w.log).not.toContain('end slow'); // still waiting
    w.release();
    await w.loop.drain();
    expect(w.log).toContain('end slow');
    expect(w.maxSame()).toBe(1); // never two runs of one portal at once, however often it was woken
  });

  it('at most `concurrency` portals run at once; the rest start as slots free up', async () => {
    const w = world({ concurrency: 2 });
    for (const m of ['slow', 'a', 'b', 'c']) w.due.set(m, 1);
    w.loop.wake();
    await tick(20);
    expect(w.log.filter((l) => l.startsWith('start')).length).toBeGreaterThanOrEqual(2);
    // "slow" holds one slot the whole time: the others pass through the second one
    for (let i = 0; i < 50 && !['a', 'b', 'c'].every((m) => w.log.includes(`end ${m}`)); i++) await tick();
    expect(['a', 'b', 'c'].every((m) => w.log.includes(`end ${m}`))).toBe(true);
    w.release();
    await w.loop.drain();
    expect(w.log.filter((l) => l.startsWith('end'))).toHaveLength(4);
    expect(w.maxRunning()).toBe(2); // never more than the limit at once
  });

  it('paused, it starts nothing; resumed, it catches up', async () => {
    const w = world();
    w.loop.pause();
    w.due.set('a', 1);
    w.loop.wake();
    await tick(20);
    expect(w.log).toEqual([]);
    w.loop.resume();
    for (let i = 0; i < 50 && !w.log.includes('end a'); i++) await tick();
    expect(w.log).toEqual(['start a', 'end a']);
  });
});
