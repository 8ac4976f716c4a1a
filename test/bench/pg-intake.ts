/**
 * PostgreSQL intake bench (issue #12, `npm run bench -- --only pg-intake`): UIS /message callbacks
 * acknowledged per second when the acknowledgement is the PostgreSQL callback inbox
 * (server/storage/pg/callback-inbox.ts: group commit, one multi-row INSERT per group, 204 after
 * the commit), beside bare Node measured in the same run with the same client (keep-alive, 32 in
 * flight, the same bodies): goal «a PostgreSQL instance ≥ 30 % of bare Node».
 *  - bare Node: an empty 204 handler in its own process (the body read, nothing else);
 *  - 1 and 2 instances (pg-intake-server.ts, each its own process, bundled by esbuild and run by
 *    plain node) on one database: JSON + zod parse of the callback, its dedupe key, `submit`, 204;
 *    the client spreads its connections round-robin over the instances.
 * The handlers' side (claim/done) does not run: the figure is the intake alone.
 */
import { build } from 'esbuild';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../server/compose';
import { openPg } from '../../server/storage/pg/connection';
import { hammerSpread, type RateResult } from './scale';

interface Proc {
  port: number;
  pid: number;
  close(): Promise<void>;
}

/** A node process that prints `PORT <n>` once it listens. */
async function startProc(args: string[], env: Record<string, string> = {}): Promise<Proc> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } });
  const port = await new Promise<number>((ok, fail) => {
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /PORT (\d+)/.exec(out);
      if (m) ok(Number(m[1]));
    });
    child.once('exit', (code) => fail(new Error(`${args.join(' ').slice(0, 60)} exited (${code})`)));
  });
  const exited = new Promise<void>((ok) => child.once('exit', () => ok()));
  return {
    port,
    pid: child.pid!,
    async close() {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** the test database of test/support/stores.ts (not imported: it imports vitest) */
const DEFAULT_PG_URL = process.env.TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';

const BARE = `const s=require('node:http').createServer((q,r)=>{q.resume();q.on('end',()=>{r.statusCode=204;r.end()})});s.keepAliveTimeout=60000;s.listen(0,'127.0.0.1',()=>console.log('PORT '+s.address().port))`;

export interface PgIntakeResult {
  bare: RateResult;
  instances: Array<RateResult & { n: number; groups: number; avgGroup: number; largestGroup: number; retriedAlone: number }>;
  /** rows in the inbox after the runs / callbacks acknowledged: 1 when every 204 is a row */
  stored: number;
  acknowledged: number;
  serverVersion: string;
}

export async function benchPgIntake(o: { count: number; concurrency: number; maxInstances: number; url?: string }): Promise<PgIntakeResult> {
  const url = o.url ?? process.env.BENCH_DATABASE_URL ?? DEFAULT_PG_URL;
  const schema = `bench_${randomBytes(6).toString('hex')}`;
  const admin = await openPg(url, { schema, max: 2 }); // creates and migrates the schema
  const out = join(PROJECT_ROOT, 'node_modules', '.cache', `omni-pg-intake-${process.pid}`);
  mkdirSync(out, { recursive: true });
  const file = join(out, 'server.js');
  const procs: Proc[] = [];
  try {
    const serverVersion = (await admin.pool.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]!.v;
    await build({ absWorkingDir: PROJECT_ROOT, entryPoints: ['test/bench/pg-intake-server.ts'], outfile: file, bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', logLevel: 'warning' });
    const member = 'bench-portal';
    let nextId = 1_000_000;
    /** a realistic «Новое сообщение» body; ids never repeated across runs (every callback a new row) */
    const bodies = () => {
      const base = nextId + o.concurrency;
      nextId += o.count + 2 * o.concurrency + 10;
      return (n: number) =>
        JSON.stringify({
          context: { app_id: 4242, chat_channel_id: 77, conversation_frame_ts: 1787302800123 },
          account_id: 5501,
          channel_id: 77,
          chat_id: 900_000 + (Math.abs(n) % 50),
          id: base + n,
          source: 'visitor',
          operator_id: null,
          reply_to_id: null,
          text: n < 0 ? `warm ${-n}` : `Здравствуйте! Подскажите, пожалуйста, есть ли в наличии товар №${n}?`,
          created_at: '2026-08-21 09:00:00.123456',
          status: 'sent',
          resource: null,
        });
    };
    const targets = (ps: Proc[]) => ps.map((p) => new URL(`http://127.0.0.1:${p.port}/uis/callbacks/${member}/message`));
    const run = (ps: Proc[]) => hammerSpread({ targets: targets(ps), pids: ps.map((p) => p.pid), headers: {}, count: o.count, concurrency: o.concurrency, body: bodies() });

    const bareProc = await startProc(['-e', BARE]);
    let bare: RateResult;
    try {
      bare = await run([bareProc]);
    } finally {
      await bareProc.close();
    }
    const instances: PgIntakeResult['instances'] = [];
    let acknowledged = 0;
    for (let n = 1; n <= o.maxInstances; n++) {
      procs.push(await startProc([file], { PG_URL: url, PG_SCHEMA: schema }));
      const before = await Promise.all(procs.map(stats));
      const r = await run(procs);
      const after = await Promise.all(procs.map(stats));
      acknowledged += r.ok + o.concurrency; // the warm-up round is stored too
      const groups = after.reduce((s, a, i) => s + a.groups - (before[i]?.groups ?? 0), 0);
      const callbacks = after.reduce((s, a, i) => s + a.callbacks - (before[i]?.callbacks ?? 0), 0);
      instances.push({ ...r, n, groups, avgGroup: callbacks / Math.max(1, groups), largestGroup: Math.max(...after.map((a) => a.largestGroup)), retriedAlone: after.reduce((s, a) => s + a.retriedAlone, 0) });
    }
    const stored = (await admin.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM uis_callback_inbox')).rows[0]!.n;
    return { bare, instances, stored, acknowledged, serverVersion };
  } finally {
    for (const p of procs) await p.close().catch(() => undefined);
    await admin.pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
    await admin.close();
    rmSync(out, { recursive: true, force: true });
  }
}

async function stats(p: Proc): Promise<{ groups: number; callbacks: number; largestGroup: number; retriedAlone: number }> {
  const r = await fetch(`http://127.0.0.1:${p.port}/stats`);
  return (await r.json()) as { groups: number; callbacks: number; largestGroup: number; retriedAlone: number };
}
