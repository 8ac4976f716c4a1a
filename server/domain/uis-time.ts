/**
 * UIS date-times.
 * - Data API (Data API «Соглашения»): `YYYY-MM-DD hh:mm:ss` in the UIS account's time zone
 *   (`get.account` `timezone`, read by server/uis/account-zone.ts), both in requests (`date_from`,
 *   `date_till`) and in report rows (`date_time`).
 * - Chat API callbacks (`created_at`): ISO 8601, microseconds, an offset; none means UTC.
 */
const formatters = new Map<string, Intl.DateTimeFormat>();
const formatter = (timeZone: string): Intl.DateTimeFormat => {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('sv-SE', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
    formatters.set(timeZone, f);
  }
  return f;
};

export function dataApiDateTime(ms: number, timeZone: string): string {
  return formatter(timeZone).format(new Date(ms)).replace('T', ' ');
}

/** The instant a Data API date-time names in `timeZone`; null for anything else. */
export function parseDataApiDateTime(v: unknown, timeZone: string): number | null {
  const m = typeof v === 'string' ? /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})/.exec(v) : null;
  if (!m) return null;
  const wall = Date.parse(`${m[1]}T${m[2]}Z`); // the wall-clock reading as if it were UTC
  if (Number.isNaN(wall)) return null;
  // the zone's offset at that moment (twice: the first guess may sit across a DST change)
  const offsetAt = (ms: number) => Date.parse(`${dataApiDateTime(ms, timeZone).replace(' ', 'T')}Z`) - ms;
  const guess = wall - offsetAt(wall);
  return wall - offsetAt(guess);
}

/** The instant of a Chat API `created_at`; null when missing or unparsable. */
export function parseChatApiTime(v: unknown): number | null {
  if (typeof v !== 'string') return null;
  const s = v.replace(/(\.\d{3})\d+/, '$1');
  const t = Date.parse(/Z|[+-]\d\d:?\d\d$/.test(s) ? s : `${s}Z`);
  return Number.isFinite(t) ? t : null;
}
