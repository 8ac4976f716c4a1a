/**
 * One instance of the PostgreSQL intake bench (pg-intake.ts), run as its own Node process (bundled
 * by esbuild, started by plain node): POST /uis/callbacks/<member>/message → JSON parse (depth
 * bound), zod parse of the UIS callback (parseUisCallback, as the listener does), the recorder's
 * content dedupe key, `submit` into the PostgreSQL callback inbox, 204 after the group's commit
 * (400 for a body that does not fit, 503 when the inbox refuses). GET /stats: the inbox's counters.
 * Env: PG_URL, PG_SCHEMA (migrated already), PG_POOL (default 4), MAX_IN_FLIGHT (default 1).
 */
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import { openPg } from '../../server/storage/pg/connection';
import { createPgCallbackInbox } from '../../server/storage/pg/callback-inbox';
import { jsonDepth, MAX_JSON_DEPTH, parseUisCallback } from '../../server/uis/callback-schemas';

const PATH = /^\/uis\/callbacks\/([\w-]{1,64})(\/message)$/;

async function main() {
  const store = await openPg(process.env.PG_URL!, { schema: process.env.PG_SCHEMA, max: Number(process.env.PG_POOL ?? 4), migrate: false });
  const inbox = createPgCallbackInbox(store, { maxInFlight: Number(process.env.MAX_IN_FLIGHT ?? 1) });
  const server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/stats') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(inbox.stats()));
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const m = PATH.exec(req.url ?? '');
      if (!m || req.method !== 'POST') {
        res.statusCode = 404;
        res.end();
        return;
      }
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown;
      try {
        if (jsonDepth(text) > MAX_JSON_DEPTH) throw new Error('too deep');
        body = JSON.parse(text);
      } catch {
        res.statusCode = 400;
        res.end('the body is not JSON');
        return;
      }
      const parsed = parseUisCallback('POST', m[2]!, body);
      if (!parsed.ok) {
        res.statusCode = parsed.status;
        res.end(parsed.error);
        return;
      }
      const cb = parsed.callback;
      const path = `${cb.method} ${cb.path}`;
      const dedupeKey = createHash('sha256').update(`${path} ${JSON.stringify(cb.body)}`).digest('hex');
      inbox.submit({ memberId: m[1]!, path, body: text, dedupeKey }).then(
        () => {
          res.statusCode = 204;
          res.end();
        },
        () => {
          res.statusCode = 503;
          res.end();
        },
      );
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => {
    const a = server.address();
    console.log(`PORT ${typeof a === 'object' && a ? a.port : 0}`);
  });
  process.on('SIGTERM', () => {
    server.close();
    void store.close().then(() => process.exit(0));
  });
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
