/**
 * Date/time formats of the two APIs:
 * - Chat API: ISO 8601; UIS writes its own timestamps the Python way, `2025-03-21T05:00:00.248137+00:00`
 *   (Chat API §"Примеры"), and echoes an adapter's `created_at` string unchanged.
 * - Data API: `YYYY-MM-DD hh:mm:ss` in the account's time zone (Data API §"Соглашения"); every
 *   emulated account is in Europe/Moscow (UTC+3, no DST since 2014).
 */
export const MOSCOW_OFFSET_MIN = 180;

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

/** UIS's own timestamp: microsecond precision, explicit +00:00. */
export function isoMicro(ms: number): string {
  const d = new Date(ms);
  return (
    `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)}000+00:00`
  );
}

const ISO_RE = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?$/;

/** Parses ISO 8601 date-times as pydantic would accept them; a missing offset means UTC. */
export function parseIso(s: unknown): number | null {
  if (typeof s !== 'string') return null;
  const m = ISO_RE.exec(s.trim());
  if (!m) return null;
  const [, y, mo, d, h, mi, se = '0', frac = '0', tz] = m;
  let ms = Date.UTC(+y!, +mo! - 1, +d!, +h!, +mi!, +se!, Math.floor(Number(`0.${frac}`) * 1000));
  const check = new Date(ms);
  if (check.getUTCDate() !== +d! || check.getUTCMonth() !== +mo! - 1 || +h! > 23 || +mi! > 59 || +se! > 59) return null;
  if (tz && tz !== 'Z') {
    const sign = tz.startsWith('-') ? -1 : 1;
    const digits = tz.slice(1).replace(':', '');
    ms -= sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4))) * 60_000;
  }
  return ms;
}

/** Data API wire format in the account zone. */
export function dataApiDateTime(ms: number, offsetMin = MOSCOW_OFFSET_MIN): string {
  const d = new Date(ms + offsetMin * 60_000);
  return (
    `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`
  );
}

const DATA_API_RE = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/;

/** Strict `YYYY-MM-DD hh:mm:ss` in the account zone → epoch ms, or null. */
export function parseDataApiDateTime(s: unknown, offsetMin = MOSCOW_OFFSET_MIN): number | null {
  if (typeof s !== 'string') return null;
  const m = DATA_API_RE.exec(s);
  if (!m) return null;
  const [, y, mo, d, h, mi, se] = m.map(Number) as number[];
  const local = Date.UTC(y!, mo! - 1, d!, h!, mi!, se!);
  const check = new Date(local);
  if (check.getUTCDate() !== d || check.getUTCMonth() !== mo! - 1 || h! > 23 || mi! > 59 || se! > 59) return null;
  return local - offsetMin * 60_000;
}

/** Next local midnight of the account zone after `ms` (the Data API day budget resets there). */
export function nextLocalMidnight(ms: number, offsetMin = MOSCOW_OFFSET_MIN): number {
  const local = ms + offsetMin * 60_000;
  const day = 86_400_000;
  return Math.floor(local / day) * day + day - offsetMin * 60_000;
}
