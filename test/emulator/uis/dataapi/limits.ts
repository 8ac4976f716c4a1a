/**
 * Data API point budgets (Data API §"Лимиты и ограничения"): a day and a minute budget; every
 * successful call costs its weight (1 point for every method today); failed calls are free; the
 * remaining budget is reported in `metadata.limits`; an exhausted budget answers −32029
 * `limit_exceeded`. The docs give no default sizes: 10 000/day and 100/minute are our choice.
 * Windows are fixed: the minute window starts on the first call after the previous one ended,
 * the day window ends at the account's local midnight.
 */
import type { Clock } from '../../../../server/domain/clock';
import { nextLocalMidnight } from '../time';

export interface LimitsView {
  day_limit: number;
  day_remaining: number;
  day_reset: number;
  minute_limit: number;
  minute_remaining: number;
  minute_reset: number;
}

export class PointBudget {
  dayLimit = 10_000;
  minuteLimit = 100;
  private dayUsed = 0;
  private minuteUsed = 0;
  private dayEnds = 0;
  private minuteEnds = 0;

  constructor(private readonly clock: Clock) {}

  private roll(): void {
    const now = this.clock.now();
    if (now >= this.dayEnds) {
      this.dayUsed = 0;
      this.dayEnds = nextLocalMidnight(now);
    }
    if (now >= this.minuteEnds) {
      this.minuteUsed = 0;
      this.minuteEnds = now + 60_000;
    }
  }

  /** Which budget would be exceeded by a call of `weight`, if any. */
  exceeded(weight = 1): 'day' | 'minute' | null {
    this.roll();
    if (this.dayUsed + weight > this.dayLimit) return 'day';
    if (this.minuteUsed + weight > this.minuteLimit) return 'minute';
    return null;
  }

  charge(weight = 1): void {
    this.roll();
    this.dayUsed += weight;
    this.minuteUsed += weight;
  }

  view(): LimitsView {
    this.roll();
    const now = this.clock.now();
    return {
      day_limit: this.dayLimit,
      day_remaining: Math.max(0, this.dayLimit - this.dayUsed),
      day_reset: Math.max(0, Math.ceil((this.dayEnds - now) / 1000)),
      minute_limit: this.minuteLimit,
      minute_remaining: Math.max(0, this.minuteLimit - this.minuteUsed),
      minute_reset: Math.max(0, Math.ceil((this.minuteEnds - now) / 1000)),
    };
  }

  set(o: { day?: number; minute?: number }): void {
    if (o.day !== undefined) this.dayLimit = o.day;
    if (o.minute !== undefined) this.minuteLimit = o.minute;
  }
}
