import type { Clock } from '../domain/clock';

/**
 * The portal's resource limit as a client sees it (docs/facts/bitrix24.md#rest-limits; REST docs limits.md
 * «Ограничения на ресурсоемкость»): each method has its own budget of execution time over 10
 * one-minute buckets; over it, calls of *that method* answer 429 `OPERATION_TIME_LIMIT` — before
 * running, so a retry is safe for writes too — while other methods go on. The error carries no
 * `time`: when the oldest bucket drops out is `time.operating_reset_at` of the method's last
 * *successful* answer (a batch reports it per command in `result_time`).
 *
 * Per portal: the last reset each method reported, and until when a method is blocked. Callers of
 * a blocked method sleep until then (one timer each, no polling); when the reset is unknown or
 * already past, the next probe is a bucket (60 s) later.
 */
export interface OperatingLimit {
  /** A successful answer of `method` carried this `time` block (or a batch command's `result_time`). */
  noteTime(method: string, time: unknown): void;
  /** The portal refused `method` with OPERATION_TIME_LIMIT; `time` if that answer had one. Returns the block's end (ms). */
  block(method: string, time?: unknown): number;
  /** Resolves when none of `methods` is blocked any more. */
  waitFor(methods: readonly string[]): Promise<void>;
  /** When `method` may be called again (ms), or 0 when it is not blocked. */
  blockedUntil(method: string): number;
}

const BUCKET_MS = 60_000;

function resetAtMs(time: unknown): number {
  const v = time && typeof time === 'object' ? (time as { operating_reset_at?: unknown }).operating_reset_at : undefined;
  const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : NaN;
  return Number.isFinite(n) && n > 0 ? n * 1000 : 0;
}

export function createOperatingLimit(clock: Clock): OperatingLimit {
  const lastReset = new Map<string, number>();
  const until = new Map<string, number>();
  const key = (method: string) => method.toLowerCase();

  const blockedUntil = (method: string): number => {
    const t = until.get(key(method)) ?? 0;
    if (t > clock.now()) return t;
    if (t) until.delete(key(method));
    return 0;
  };

  return {
    noteTime(method, time) {
      const at = resetAtMs(time);
      if (at) lastReset.set(key(method), at);
    },
    block(method, time) {
      const now = clock.now();
      const known = Math.max(resetAtMs(time), lastReset.get(key(method)) ?? 0);
      // the reset the portal named, else (unknown, or passed and still blocked) the next bucket
      const end = Math.max(known > now ? known : now + BUCKET_MS, until.get(key(method)) ?? 0);
      until.set(key(method), end);
      lastReset.delete(key(method)); // used up: a repeat of the error waits for the next bucket
      return end;
    },
    async waitFor(methods) {
      for (;;) {
        const t = Math.max(0, ...methods.map(blockedUntil));
        if (!t) return;
        await clock.sleep(t - clock.now());
      }
    },
    blockedUntil,
  };
}
