/**
 * A process that handles the PostgreSQL callback inbox and is killed mid-batch
 * (test/storage/pg-callback-consumer.test.ts): argv = database URL, schema, how many callbacks to
 * handle before it says "stuck" on stdout and waits to be SIGKILLed with its transaction open.
 */
import { sql } from 'kysely';
import { openPg } from '../../server/storage/pg/connection';
import { createPgCallbackConsumer } from '../../server/storage/pg/callback-consumer';

const [url, schema, afterArg] = process.argv.slice(2);
const store = await openPg(url!, { schema: schema!, max: 2, migrate: false });
let handled = 0;
const consumer = createPgCallbackConsumer({
  db: store.db,
  handle: async (trx, row) => {
    await sql`INSERT INTO effects (member_id, body, by) VALUES (${row.memberId}, ${row.body}, 'child')`.execute(trx);
    if (++handled === Number(afterArg)) {
      process.stdout.write('stuck\n');
      await new Promise(() => {});
    }
  },
  failed: () => {},
  error: () => {},
});
await consumer.drain();
