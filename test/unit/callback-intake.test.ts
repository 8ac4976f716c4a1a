import { describe, expect, it } from 'vitest';
import type { UisLink } from '../../server/domain/uis-link';
import { createCallbackIntake } from '../../server/services/callback-intake';
import { atomically, openDb } from '../../server/storage/db';

const link = { memberId: 'm1' } as UisLink;

function world(fail: (body: unknown) => boolean) {
  const db = openDb(':memory:');
  db.exec('CREATE TABLE t (n INTEGER)');
  const insert = db.prepare('INSERT INTO t (n) VALUES (?)');
  let transactions = 0;
  const tx = atomically(db);
  const intake = createCallbackIntake(
    {
      handle(_link, _path, _method, body) {
        insert.run((body as { n: number }).n); // written first: a throw must undo it
        if (fail(body)) throw new Error(`refused ${(body as { n: number }).n}`);
      },
    },
    (fn) => {
      transactions++;
      return tx(fn);
    },
  );
  const rows = () => (db.prepare('SELECT n FROM t ORDER BY n').pluck().all() as number[]);
  return { intake, rows, transactions: () => transactions };
}

describe('callback intake (group commit)', () => {
  it('callbacks that arrive in one turn are committed in one transaction, and only then answered', async () => {
    const w = world(() => false);
    const answered: number[] = [];
    const all = Array.from({ length: 20 }, (_, n) => w.intake.submit(link, '/message', 'POST', { n }).then(() => answered.push(n)));
    expect(answered).toEqual([]);
    expect(w.rows()).toEqual([]); // nothing written before the group runs
    await Promise.all(all);
    expect(w.transactions()).toBe(1);
    expect(w.rows()).toEqual(Array.from({ length: 20 }, (_, n) => n));
    expect(answered).toHaveLength(20);
    // the next turn is the next group
    await w.intake.submit(link, '/message', 'POST', { n: 100 });
    expect(w.transactions()).toBe(2);
  });

  it('one callback that throws is refused alone: its writes are undone, the others of its group are kept', async () => {
    const w = world((b) => (b as { n: number }).n === 3);
    const results = await Promise.allSettled(Array.from({ length: 6 }, (_, n) => w.intake.submit(link, '/message', 'POST', { n })));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect(String((results[3] as PromiseRejectedResult).reason)).toContain('refused 3');
    expect(w.rows()).toEqual([0, 1, 2, 4, 5]);
  });
});
