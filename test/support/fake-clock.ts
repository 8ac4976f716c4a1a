import type { Clock } from '../../server/domain/clock';

/** A clock that only moves when told to; sleeps resolve as time is advanced past them. */
export class FakeClock implements Clock {
  private t: number;
  private sleepers: Array<{ until: number; resolve: () => void }> = [];

  constructor(start = Date.UTC(2026, 10, 21, 12, 0, 0)) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.sleepers.push({ until: this.t + Math.max(0, ms), resolve });
      this.sleepers.sort((a, b) => a.until - b.until);
    });
  }

  /** Move time forward, waking sleepers in order (each wake lets pending microtasks run). */
  async advance(ms: number): Promise<void> {
    const target = this.t + ms;
    for (;;) {
      const next = this.sleepers[0];
      if (!next || next.until > target) break;
      this.sleepers.shift();
      this.t = Math.max(this.t, next.until);
      next.resolve();
      await new Promise((r) => setImmediate(r));
    }
    this.t = target;
  }

  pendingSleeps(): number {
    return this.sleepers.length;
  }
}
