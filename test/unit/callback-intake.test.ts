import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { UisLink } from '../../server/domain/uis-link';
import type { UisCallback } from '../../server/uis/callback-schemas';
import { createCallbackIntake } from '../../server/services/callback-intake';
import { step } from '../../server/services/maybe-async';
import { atomically, openDb } from '../../server/storage/db';

const link = { memberId: 'm1' } as UisLink;
/** A callback numbered n (its UIS message id). */
const cb = (n: number): UisCallback => ({ route: 'POST /message/status', method: 'POST', path: '/message/status', pathId: null, body: { chat_id: '1', message_id: String(n) } });
const nOf = (c: UisCallback): number => Number((c.body as { message_id: string }).message_id);
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function world(fail: (n: number) => boolean) {
  const dir = mkdtempSync(join(tmpdir(), 'intake-'));
  dirs.push(dir);
  const file = join(dir, 'db.sqlite');
  const db = openDb(file);
  db.exec('CREATE TABLE t (n INTEGER)');
  const insert = db.prepare('INSERT INTO t (n) VALUES (?)');
  let transactions = 0;
  const tx = atomically(db);
  const intake = createCallbackIntake(
    {
      *handle(_link, c) {
        yield* step(insert.run(nOf(c))); // written first: a throw must undo it
        if (fail(nOf(c))) throw new Error(`refused ${nOf(c)}`);
      },
    },
    (fn) => {
      transactions++;
      return tx(fn);
    },
  );
  const rows = () => (db.prepare('SELECT n FROM t ORDER BY n').pluck().all() as number[]);
  // a second connection sees committed rows only
  const reader = new Database(file, { readonly: true });
  const committed = () => (reader.prepare('SELECT n FROM t ORDER BY n').pluck().all() as number[]);
  return { intake, rows, committed, transactions: () => transactions };
}

describe('callback intake (group commit)', () => {
  it('callbacks that arrive in one turn are committed in one transaction, and only then answered', async () => {
    const w = world(() => false);
    // what each answer sees: its own row must already be committed when it is answered
    const committedAtAnswer: boolean[] = [];
    const all = Array.from({ length: 20 }, (_, n) => w.intake.submit(link, cb(n)).then(() => committedAtAnswer.push(w.committed().includes(n))));
    expect(w.rows()).toEqual([]); // nothing written before the group runs
    await Promise.all(all);
    expect(w.transactions()).toBe(1);
    expect(w.rows()).toEqual(Array.from({ length: 20 }, (_, n) => n));
    expect(committedAtAnswer).toEqual(Array.from({ length: 20 }, () => true));
    // the next turn is the next group
    await w.intake.submit(link, cb(100));
    expect(w.transactions()).toBe(2);
  });

  it('one callback that throws is refused alone: its writes are undone, the others of its group are kept', async () => {
    const w = world((n) => n === 3);
    const results = await Promise.allSettled(Array.from({ length: 6 }, (_, n) => w.intake.submit(link, cb(n))));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect(String((results[3] as PromiseRejectedResult).reason)).toContain('refused 3');
    expect(w.rows()).toEqual([0, 1, 2, 4, 5]);
  });
});
