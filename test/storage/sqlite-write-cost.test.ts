/**
 * What the SQLite store costs the UIS callback intake per commit (issue #12, the 60 % goal): the
 * checkpoint threshold and the indexes each queued message writes. The figures behind these
 * settings are in docs/benchmarks.md («SQLite intake: pages per callback»).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDb, WAL_AUTOCHECKPOINT_PAGES, type Db } from '../../server/storage/db';

describe('SQLite store: write cost of the callback intake', () => {
  const dir = mkdtempSync(join(tmpdir(), 'omni-write-cost-'));
  const db: Db = openDb(join(dir, 'omni.db'));
  afterAll(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('checkpoints the WAL every 10,000 pages, not SQLite’s 1,000, and cuts a WAL grown past 64 MB back', () => {
    expect(WAL_AUTOCHECKPOINT_PAGES).toBe(10_000);
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(10_000);
    expect(db.pragma('journal_size_limit', { simple: true })).toBe(64 * 1024 * 1024);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
  });

  it('a queued message writes one index by its chat: bridge_jobs_chat is gone, the chat-key reads use bridge_jobs_pending', () => {
    const indexes = db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'bridge_jobs' AND sql IS NOT NULL").pluck().all() as string[];
    expect(indexes.sort()).toEqual(['bridge_jobs_due', 'bridge_jobs_pending', 'bridge_jobs_prune']);
    const plan = (sql: string) => (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all('m', 'c') as Array<{ detail: string }>).map((r) => r.detail).join(' | ');
    // the reads and writes by chat key the bridge store makes (bridge-repository.ts)
    expect(plan("SELECT * FROM bridge_jobs WHERE member_id = ? AND chat_key = ? AND status = 'pending' ORDER BY id")).toMatch(/USING INDEX bridge_jobs_pending/);
    expect(plan("UPDATE bridge_jobs SET due_at = 1 WHERE member_id = ? AND chat_key = ? AND status = 'pending' AND due_at > 0")).toMatch(/USING INDEX bridge_jobs_pending/);
    expect(plan("SELECT 1 FROM bridge_jobs o WHERE o.member_id = ? AND o.chat_key = ? AND o.status = 'pending' AND o.id < 5")).toMatch(/USING (COVERING )?INDEX bridge_jobs_pending/);
  });
});
