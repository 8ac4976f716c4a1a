/**
 * The resource limit of the cloud (docs/facts/bitrix24.md#rest-limits; REST docs limits.md «Ограничения на
 * ресурсоемкость»; rest/lib/engine/access/loadlimiter.php), per app and method:
 * - a call's execution time goes into the bucket of its clock minute (`floor(t / 60)`); a bucket
 *   lives 10 minutes from the first call counted in it, and only the last 10 minute numbers count;
 * - calls of 0.1 s or less are not counted (`$minimalFixTime`);
 * - before a call the sum is checked: over the limit → HTTP 429 `OPERATION_TIME_LIMIT` and the
 *   method does not run (the call that pushed the sum over the limit completed normally);
 * - `time.operating` is the sum (this call included), `time.operating_reset_at` the unix second
 *   when the oldest counted bucket expires (no bucket yet: this call's start + 600 s). The bucket
 *   already stops counting when its minute number is 10 old, which is up to a minute earlier, so
 *   the reported reset is a safe bound, not the exact moment;
 * - the outer `batch` is neither checked nor counted; its sub-calls are, each for its own method.
 * The emulator's methods run instantly, so their execution time is configured per method
 * (`setMethodTime`; default 0 = never counted). The limit defaults to the 480 s of the docs' example.
 */
import type { Clock } from '../../../server/domain/clock';

const BUCKET_SEC = 60;
const BUCKET_COUNT = 10;
const MIN_COUNTED_SEC = 0.1;
export const DEFAULT_OPERATING_LIMIT_SEC = 480;

interface Bucket {
  sum: number;
  /** unix seconds (float): first counted call of the bucket + 600 */
  expiresAt: number;
}

export class OperatingMeter {
  private readonly buckets = new Map<string, Map<number, Bucket>>();
  private readonly methodTimes = new Map<string, number>();

  constructor(
    private readonly clock: Clock,
    public limitSec = DEFAULT_OPERATING_LIMIT_SEC,
    methodTimes: Record<string, number> = {},
  ) {
    for (const [m, s] of Object.entries(methodTimes)) this.setMethodTime(m, s);
  }

  /** How long one call of `method` runs on the portal (seconds). */
  setMethodTime(method: string, seconds: number): void {
    this.methodTimes.set(method.toLowerCase(), seconds);
  }

  methodTime(method: string): number {
    return method === 'batch' ? 0 : (this.methodTimes.get(method) ?? 0);
  }

  private live(method: string): Array<[number, Bucket]> {
    const nowSec = this.clock.now() / 1000;
    const current = Math.floor(nowSec / BUCKET_SEC);
    const rows = this.buckets.get(method);
    if (!rows) return [];
    for (const [n, b] of rows) if (n <= current - BUCKET_COUNT || b.expiresAt <= nowSec) rows.delete(n);
    return [...rows].sort((a, b) => a[0] - b[0]);
  }

  /** Accumulated execution time of `method` in the window (seconds). */
  operating(method: string): number {
    return this.live(method).reduce((s, [, b]) => s + b.sum, 0);
  }

  /** LoadLimiter::is — checked before the method runs. */
  blocked(method: string): boolean {
    return method !== 'batch' && this.operating(method) > this.limitSec;
  }

  /** A call of `method` that started at `startMs` ran `seconds`. */
  register(method: string, startMs: number, seconds: number): void {
    if (method === 'batch' || seconds <= MIN_COUNTED_SEC) return;
    const n = Math.floor(this.clock.now() / 1000 / BUCKET_SEC);
    let rows = this.buckets.get(method);
    if (!rows) this.buckets.set(method, (rows = new Map()));
    const b = rows.get(n);
    if (b) b.sum += seconds;
    else rows.set(n, { sum: seconds, expiresAt: startMs / 1000 + BUCKET_COUNT * BUCKET_SEC });
  }

  /** The `operating` / `operating_reset_at` pair of a successful answer. */
  timeFields(method: string, startMs: number): { operating: number; operating_reset_at: number } {
    const rows = this.live(method);
    const oldest = rows[0]?.[1];
    return {
      operating: method === 'batch' ? 0 : Number(rows.reduce((s, [, b]) => s + b.sum, 0).toFixed(6)),
      operating_reset_at: Math.floor(oldest ? oldest.expiresAt : startMs / 1000 + BUCKET_COUNT * BUCKET_SEC),
    };
  }
}
