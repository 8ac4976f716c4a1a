/**
 * The health view's reads (issue #12 over issue #16's «Состояние» and /metrics), the same cases
 * against the SQLite repository and the PostgreSQL store, over the tables the other areas own
 * (bridge jobs, analytics jobs, CRM requests, calls, chat-source items, open-lines jobs, employee
 * sync runs; bindings, channels, connections, amoCRM accounts, the audit, chat-source state): each
 * area's queue — waiting and due, since when, failed since a time (ms or ISO columns) — per portal
 * and summed, the latest failure of each area, a connection's channels, the portals with the app
 * and the state counts over them. Rows are written with plain SQL, as the areas' own stores do.
 */
import { beforeEach, expect, it } from 'vitest';
import { HEALTH_AREAS, type HealthArea } from '../../server/contracts/health';
import { createSqliteHealthRepository } from '../../server/storage/health-repository';
import { createPgHealthStore } from '../../server/storage/pg/health-store';
import type { HealthRepository } from '../../server/services/health/ports';
import { forEachStore, type TestStore } from '../support/stores';

const M = 'member-a';
const B = 'member-b';
const D = 'member-gone'; // uninstalled: left out of the portal counts
const NOW = 10_000_000;
const FROM = 5_000_000;
const iso = (ms: number) => new Date(ms).toISOString();
const lit = (v: string | number | null | undefined) => (v === null || v === undefined ? 'NULL' : typeof v === 'number' ? String(v) : `'${v.replace(/'/g, "''")}'`);

function repository(store: TestStore): HealthRepository {
  return store.sqlite ? createSqliteHealthRepository(store.sqlite) : createPgHealthStore(store.pg!.db);
}

async function exec(store: TestStore, q: string): Promise<void> {
  if (store.sqlite) store.sqlite.prepare(q).run();
  else await store.pg!.pool.query(q);
}

let seq = 0;
/** One item of an area's queue: `at` = its due time (pending) or when it failed (failed). */
function itemSql(area: HealthArea, m: string, status: string, at: number, reason: string | null = null): string {
  const n = ++seq;
  const failedAt = status === 'failed' ? at : NOW;
  const due = status === 'failed' ? (area.startsWith('bridge') ? at : 0) : at;
  const v = (...xs: Array<string | number | null>) => xs.map(lit).join(', ');
  switch (area) {
    case 'bridge-in':
    case 'bridge-out':
      return `INSERT INTO bridge_jobs (member_id, kind, chat_key, idem_key, payload, status, due_at, enqueued_at, last_error) VALUES (${v(m, area === 'bridge-in' ? 'in' : n % 2 ? 'out' : 'delivery', 'chat', `k${n}`, '{}', status, due, 0, reason)})`;
    case 'analytics':
      return `INSERT INTO analytics_jobs (member_id, entity_type, entity_id, status, due_at, created_at, reason, updated_at) VALUES (${v(m, 'lead', n, status === 'done' ? 'uploaded' : status, due, 0, reason, iso(failedAt))})`;
    case 'crm-rules':
      return `INSERT INTO crm_requests (member_id, kind, request_id, event, status, due_at, reason, updated_at) VALUES (${v(m, 'chat', `r${n}`, 'x', status, due, reason, iso(failedAt))})`;
    case 'telephony':
      return `INSERT INTO telephony_calls (member_id, session_id, status, due_at, reason, created_at, updated_at) VALUES (${v(m, n, status, due, reason, 0, failedAt)})`;
    case 'chat-sources':
      return `INSERT INTO chat_source_items (member_id, source, ext_id, kind, status, version, payload, due_at, created_at, reason, updated_at) VALUES (${v(m, 'jivo', `e${n}`, 'chat', status === 'done' ? 'uploaded' : status, 1, '{}', due, 0, reason, iso(failedAt))})`;
    case 'open-lines':
      return `INSERT INTO open_lines_jobs (member_id, entity_type, entity_id, status, attempts, due_at, created_at, reason, updated_at) VALUES (${v(m, 'deal', n, status, 0, due, 0, reason, failedAt)})`;
    case 'employee-sync': {
      const s = status === 'pending' ? 'running' : status;
      return `INSERT INTO employee_sync_runs (member_id, trigger, status, started_at, finished_at, error) VALUES (${v(m, 'daily', s, iso(s === 'running' ? at : 0), s === 'running' ? null : iso(at), reason)})`;
    }
  }
}

forEachStore('health store', (store) => {
  let health: HealthRepository;
  const sql = (q: string) => exec(store, q);
  beforeEach(async () => {
    await store.clear(
      'portals',
      'bridge_jobs',
      'analytics_jobs',
      'crm_requests',
      'telephony_calls',
      'chat_source_items',
      'open_lines_jobs',
      'employee_sync_runs',
      'uis_channels',
      'bridge_lines',
      'uis_connections',
      'amocrm_accounts',
      'bridge_recovery',
      'chat_source_state',
    );
    for (const [m, status] of [
      [M, 'active'],
      [B, 'active'],
      [D, 'deleted'],
    ]) {
      await sql(`INSERT INTO portals (member_id, domain, client_endpoint, server_endpoint, status, created_at, updated_at) VALUES ('${m}', 'p.example', 'x', 'x', '${status}', 'x', 'x')`);
    }
    health = repository(store);
  });

  /** Per area, portal M: two waiting (the older at NOW-3000), one not due yet, one done, one failure before FROM, two after (the latest at FROM+200+i); portal B: one waiting at NOW-5000, one failure. */
  async function fill(): Promise<void> {
    for (const [i, area] of HEALTH_AREAS.entries()) {
      await sql(itemSql(area, M, 'failed', FROM - 1, 'OLD: before'));
      await sql(itemSql(area, M, 'pending', NOW - 3000));
      await sql(itemSql(area, M, area === 'chat-sources' ? 'waiting' : 'pending', NOW - 1000));
      if (area !== 'employee-sync') await sql(itemSql(area, M, 'pending', NOW + 1000)); // a run is waiting from its start: never "not yet due"
      await sql(itemSql(area, M, 'done', 0));
      await sql(itemSql(area, M, 'failed', FROM + 100, 'A: first'));
      await sql(itemSql(area, M, 'failed', FROM + 200 + i, area === 'telephony' ? null : `${area.toUpperCase()}: latest`));
      await sql(itemSql(area, B, 'pending', NOW - 5000));
      await sql(itemSql(area, B, 'failed', FROM + 50, 'B: failed'));
    }
  }

  it('with nothing stored: every area, in order, empty', async () => {
    expect(await health.queues(M, NOW, FROM)).toEqual(HEALTH_AREAS.map((area) => ({ area, depth: 0, oldestSince: null, failedSince: 0 })));
    expect(await health.queues(null, NOW, FROM)).toEqual(HEALTH_AREAS.map((area) => ({ area, depth: 0, oldestSince: null, failedSince: 0 })));
    expect(await health.lastFailures(M, FROM)).toEqual([]);
    expect(await health.stateCounts()).toEqual({ lines: {}, channels: {}, connections: {}, amocrm: {}, audit: {}, sourceErrors: {} });
    expect(await health.channels(M, 'acc')).toEqual([]);
  });

  it("each area's queue: waiting and due, the oldest one's due time, failures since the bound — per portal and summed over portals", async () => {
    await fill();
    expect(await health.queues(M, NOW, FROM)).toEqual(HEALTH_AREAS.map((area) => ({ area, depth: 2, oldestSince: NOW - 3000, failedSince: 2 })));
    expect(await health.queues(B, NOW, FROM)).toEqual(HEALTH_AREAS.map((area) => ({ area, depth: 1, oldestSince: NOW - 5000, failedSince: 1 })));
    expect(await health.queues(null, NOW, FROM)).toEqual(HEALTH_AREAS.map((area) => ({ area, depth: 3, oldestSince: NOW - 5000, failedSince: 3 })));
    expect(await health.queues(D, NOW, FROM)).toEqual(HEALTH_AREAS.map((area) => ({ area, depth: 0, oldestSince: null, failedSince: 0 })));
    // earlier: the item due at NOW-1000 is not due yet (a run counts from its start, whatever the time)
    expect(await health.queues(M, NOW - 1001, FROM)).toEqual(HEALTH_AREAS.map((area) => ({ area, depth: area === 'employee-sync' ? 2 : 1, oldestSince: NOW - 3000, failedSince: 2 })));
  });

  it('times between whole ms select the same items as the exact comparison (ms and ISO columns alike)', async () => {
    await fill();
    const q = await health.queues(M, NOW - 1000 + 0.5, FROM + 100.5);
    const iso = new Set<HealthArea>(['analytics', 'crm-rules', 'chat-sources', 'employee-sync']); // the ISO text of FROM+100.5 is that of FROM+100
    expect(q).toEqual(HEALTH_AREAS.map((area) => ({ area, depth: 2, oldestSince: NOW - 3000, failedSince: iso.has(area) ? 2 : 1 })));
    // the ISO text of FROM-0.5 is that of FROM-1 (a Date keeps whole ms, cut towards zero): that failure counts there
    expect((await health.queues(M, NOW - 1000 - 0.5, FROM - 0.5)).map((s) => [s.depth, s.failedSince])).toEqual(HEALTH_AREAS.map((a) => [a === 'employee-sync' ? 2 : 1, iso.has(a) ? 3 : 2]));
  });

  it("the latest failure of each area since the bound, newest first, with the worker's words", async () => {
    await fill();
    const all = await health.lastFailures(M, FROM);
    expect(all).toEqual(
      [...HEALTH_AREAS.entries()].reverse().map(([i, area]) => ({ area, at: FROM + 200 + i, reason: area === 'telephony' ? '' : `${area.toUpperCase()}: latest` })),
    );
    expect((await health.lastFailures(M, FROM + 204)).map((f) => f.area)).toEqual([...HEALTH_AREAS.slice(4)].reverse());
    expect(await health.lastFailures(M, FROM + 300)).toEqual([]);
    expect(await health.lastFailures(B, 0)).toEqual(HEALTH_AREAS.map((area) => ({ area, at: FROM + 50, reason: 'B: failed' })));
  });

  it("a connection's channels as UIS last announced them: removed ones and other connections left out, by name in byte order", async () => {
    const ch = (m: string, id: string, account: string, name: string, status: string) =>
      sql(`INSERT INTO uis_channels (member_id, channel_id, account_id, type, name, status, updated_at) VALUES ('${m}', '${id}', '${account}', 'whatsapp', '${name}', '${status}', 'x')`);
    await ch(M, 'c1', 'acc', 'alpha', 'active');
    await ch(M, 'c2', 'acc', 'Бета', 'disabled');
    await ch(M, 'c3', 'acc', 'Zeta', 'active');
    await ch(M, 'c4', 'acc', 'beta', 'removed');
    await ch(M, 'c5', 'other', 'gamma', 'active');
    await ch(B, 'c6', 'acc', 'delta', 'active');
    expect(await health.channels(M, 'acc')).toEqual([
      { channelId: 'c3', name: 'Zeta', type: 'whatsapp', status: 'active' },
      { channelId: 'c1', name: 'alpha', type: 'whatsapp', status: 'active' },
      { channelId: 'c2', name: 'Бета', type: 'whatsapp', status: 'disabled' },
    ]);
    expect(await health.channels(B, 'other')).toEqual([]);
  });

  it('the portals with the app, and the state counts over them (never per portal)', async () => {
    expect((await health.activePortals()).sort()).toEqual([M, B]);
    for (const [m, line, channel, status] of [
      [M, 'l1', 'ch1', 'active'],
      [M, 'l2', 'ch2', 'off'],
      [M, 'l3', 'chX', 'active'],
      [B, 'l1', 'ch9', 'active'],
      [D, 'l1', 'ch1', 'active'],
    ]) {
      await sql(`INSERT INTO bridge_lines (member_id, line_id, channel_id, status, updated_at) VALUES ('${m}', '${line}', '${channel}', '${status}', 'x')`);
    }
    for (const [m, channel, status] of [
      [M, 'ch1', 'active'],
      [M, 'ch2', 'disabled'],
      [M, 'ch3', 'removed'],
      [B, 'ch9', 'active'],
      [D, 'ch1', 'disabled'],
    ]) {
      await sql(`INSERT INTO uis_channels (member_id, channel_id, account_id, type, name, status, updated_at) VALUES ('${m}', '${channel}', 'acc', 't', 'n', '${status}', 'x')`);
    }
    for (const [m, conn, status] of [
      [M, 'k1', 'active'],
      [M, 'k2', 'disabled'],
      [B, 'k1', 'active'],
      [D, 'k1', 'active'],
    ]) {
      await sql(`INSERT INTO uis_connections (member_id, connection_id, status, updated_at) VALUES ('${m}', '${conn}', '${status}', 'x')`);
    }
    for (const [m, status] of [
      [M, 'active'],
      [B, 'reauth'],
      [D, 'active'],
    ]) {
      await sql(
        `INSERT INTO amocrm_accounts (member_id, name, origin, account_id, access_token, refresh_token, expires_at, refreshed_at, status, webhook_mode, connected_at, updated_at)
         VALUES ('${m}', 'n', 'https://x.amocrm.ru', 1, 'enc', 'enc', 0, 0, '${status}', 'api', 0, 'x')`,
      );
    }
    for (const [m, error] of [
      [M, null],
      [B, 'AUDIT: partial'],
      [D, 'AUDIT: partial'],
    ]) {
      await sql(`INSERT INTO bridge_recovery (member_id, last_error, updated_at) VALUES ('${m}', ${lit(error)}, 'x')`);
    }
    for (const [m, source, code] of [
      [M, 'jivo', 'E1'],
      [M, 'amocrm', null],
      [B, 'amocrm', 'E2'],
      [D, 'jivo', 'E3'],
    ]) {
      await sql(`INSERT INTO chat_source_state (member_id, source, last_error_code) VALUES ('${m}', '${source}', ${lit(code)})`);
    }
    expect(await health.stateCounts()).toEqual({
      lines: { active: 3, off: 1 },
      channels: { active: 2, disabled: 1, unknown: 1 },
      connections: { active: 2, disabled: 1 },
      amocrm: { active: 1, reauth: 1 },
      audit: { ok: 1, incomplete: 1 },
      sourceErrors: { jivo: 1, amocrm: 1 },
    });
  });
});
