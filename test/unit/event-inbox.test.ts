import { describe, expect, it } from 'vitest';
import { deliveryKey } from '../../server/services/handle-event';
import { openDb } from '../../server/storage/db';
import { createSqliteEventInbox, EVENT_DEDUPE_WINDOW_MS } from '../../server/storage/event-inbox';

const MEMBER = 'a'.repeat(32);

function setup() {
  const db = openDb(':memory:');
  db.prepare(`INSERT INTO portals (member_id, domain, client_endpoint, server_endpoint, status, created_at, updated_at) VALUES (?, 'p.example', 'https://p.example/rest/', 'https://oauth.example/rest/', 'active', 'x', 'x')`).run(MEMBER);
  let t = Date.UTC(2026, 4, 1, 12, 0, 0);
  const inbox = createSqliteEventInbox(db, () => t);
  const rows = () => db.prepare('SELECT COUNT(*) FROM event_inbox').pluck().get() as number;
  return { inbox, rows, advance: (ms: number) => (t += ms) };
}

describe('event inbox: de-duplication within a bounded window', () => {
  const ev = { event: 'ONIMCONNECTORSTATUSDELETE', ts: 1_777_000_000, data: { connector: 'uis_omni', line: '1' } };
  const record = (inbox: ReturnType<typeof setup>['inbox'], e: typeof ev) =>
    inbox.record({ memberId: MEMBER, event: e.event, data: e.data, ts: e.ts, dedupeKey: deliveryKey(e) });

  it('when the same delivery comes again within the window, then it is a duplicate; after the window it is new again', () => {
    const s = setup();
    expect(record(s.inbox, ev)).toBe(true);
    s.advance(EVENT_DEDUPE_WINDOW_MS - 1000);
    expect(record(s.inbox, ev)).toBe(false);
    s.advance(2000);
    expect(record(s.inbox, ev)).toBe(true);
    expect(record(s.inbox, ev)).toBe(false);
  });

  it('when the same change happens again (same data, another ts), then it is a new event; event_handler_id does not count', () => {
    const s = setup();
    expect(record(s.inbox, ev)).toBe(true);
    expect(record(s.inbox, { ...ev, ts: ev.ts + 1 })).toBe(true);
    expect(deliveryKey({ ...ev, event_handler_id: 7 } as typeof ev)).toBe(deliveryKey({ ...ev, event_handler_id: 9 } as typeof ev));
    expect(deliveryKey(ev)).not.toBe(deliveryKey({ ...ev, data: { connector: 'uis_omni', line: '2' } }));
  });

  it('when rows are older than the window, then they are deleted (the table stays bounded)', () => {
    const s = setup();
    for (let i = 0; i < 10; i++) record(s.inbox, { ...ev, ts: ev.ts + i });
    expect(s.rows()).toBe(10);
    s.advance(EVENT_DEDUPE_WINDOW_MS + 3600_000);
    record(s.inbox, { ...ev, ts: ev.ts + 100 });
    expect(s.rows()).toBe(1);
  });
});
