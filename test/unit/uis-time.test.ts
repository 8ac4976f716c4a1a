import { describe, expect, it } from 'vitest';
import { dataApiDateTime, parseChatApiTime, parseDataApiDateTime } from '../../server/domain/uis-time';

describe('Data API date-times in the account zone', () => {
  const at = Date.UTC(2026, 10, 21, 12, 0, 0); // 12:00 UTC

  it('are written in the zone', () => {
    expect(dataApiDateTime(at, 'Europe/Moscow')).toBe('2026-11-21 15:00:00');
    expect(dataApiDateTime(at, 'Asia/Yekaterinburg')).toBe('2026-11-21 17:00:00');
    expect(dataApiDateTime(at, 'Asia/Vladivostok')).toBe('2026-11-21 22:00:00');
  });

  // (the hour a DST zone repeats in autumn is ambiguous in this format; UIS zones in Russia have no DST)
  it('are read back to the same instant, around a DST change too', () => {
    for (const zone of ['Europe/Moscow', 'Asia/Yekaterinburg', 'Asia/Vladivostok', 'Europe/Berlin', 'America/New_York']) {
      for (const ms of [at, Date.UTC(2026, 2, 29, 0, 30), Date.UTC(2026, 2, 29, 1, 30), Date.UTC(2026, 9, 25, 3, 0), Date.UTC(2026, 6, 1, 23, 59, 59)]) {
        expect(parseDataApiDateTime(dataApiDateTime(ms, zone), zone), `${zone} ${new Date(ms).toISOString()}`).toBe(ms);
      }
    }
    expect(parseDataApiDateTime('2026-11-21 17:00:00', 'Asia/Yekaterinburg')).toBe(at);
    expect(parseDataApiDateTime('2026-11-21 17:00:00.123', 'Asia/Yekaterinburg')).toBe(at);
  });

  it('anything else is null', () => {
    for (const v of [null, undefined, 42, '', '2026-11-21', '21.11.2026 17:00:00', '2026-11-21T17:00:00']) expect(parseDataApiDateTime(v, 'Europe/Moscow')).toBeNull();
  });
});

describe('Chat API created_at', () => {
  it('is read with its offset, as UTC without one, to the millisecond', () => {
    expect(parseChatApiTime('2025-03-21T05:00:00.248137+00:00')).toBe(Date.UTC(2025, 2, 21, 5, 0, 0, 248));
    expect(parseChatApiTime('2025-03-21T08:00:00.248137+03:00')).toBe(Date.UTC(2025, 2, 21, 5, 0, 0, 248));
    expect(parseChatApiTime('2026-08-21 09:00:00.123456')).toBe(Date.UTC(2026, 7, 21, 9, 0, 0, 123));
    for (const v of [null, undefined, 7, '', 'вчера']) expect(parseChatApiTime(v)).toBeNull();
  });
});
