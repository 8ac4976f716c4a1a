/**
 * The deployment example (Dockerfile, .dockerignore, deploy/compose.yaml, deploy/nginx.conf,
 * deploy/.env.example) is not built in CI (no Docker engine there), so it is checked here: the
 * Dockerfile's stages, user, health check and command against package.json; the compose file parsed
 * with `yaml` and its instances' environment validated by the server's own configuration schema;
 * the proxy's upstreams against the compose services.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../server/compose';
import { loadConfig } from '../../server/config';

const read = (path: string) => readFileSync(join(PROJECT_ROOT, path), 'utf8');
const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string>; engines: { node: string } };

interface Instruction {
  op: string;
  args: string;
}
interface Stage {
  base: string;
  name: string;
  steps: Instruction[];
}

/** Dockerfile → stages of instructions (comments dropped, `\` continuations joined). */
function dockerStages(text: string): { args: Instruction[]; stages: Stage[] } {
  const lines = text
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const args: Instruction[] = [];
  const stages: Stage[] = [];
  for (const line of lines) {
    const [, op = '', rest = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    const ins = { op: op.toUpperCase(), args: rest.replace(/\s+/g, ' ') };
    if (ins.op === 'FROM') {
      const [, base = '', name = ''] = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args) ?? [];
      stages.push({ base, name, steps: [] });
    } else if (stages.length) stages.at(-1)!.steps.push(ins);
    else args.push(ins);
  }
  return { args, stages };
}

/** Compose's `${VAR}`, `${VAR:?message}`, `${VAR:-default}` with the values of deploy/.env.example. */
function interpolate(value: string, env: Record<string, string>): string {
  return value.replace(/\$\{(\w+)(?::?([?-])([^}]*))?\}/g, (_m, name: string, kind?: string, rest?: string) => {
    if (env[name] !== undefined) return env[name]!;
    if (kind === '-') return rest ?? '';
    throw new Error(`\${${name}} is required by deploy/compose.yaml but not in deploy/.env.example`);
  });
}

const example = Object.fromEntries(
  read('deploy/.env.example')
    .split('\n')
    .filter((l) => /^\w+=/.test(l))
    .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
);

describe('Dockerfile', () => {
  const { args, stages } = dockerStages(read('Dockerfile'));
  const byName = new Map(stages.map((s) => [s.name, s]));
  const runtime = stages.at(-1)!;
  const runs = (s: Stage) => s.steps.filter((i) => i.op === 'RUN').map((i) => i.args);

  it('builds in stages: npm ci and npm run build in one, production packages only in another', () => {
    expect(stages.length).toBeGreaterThanOrEqual(3);
    const build = stages.find((s) => runs(s).some((r) => /^npm run build\b/.test(r)))!;
    expect(build, 'a stage runs `npm run build`').toBeDefined();
    expect(runs(build).some((r) => /^npm ci\b/.test(r) && !r.includes('--omit=dev'))).toBe(true);
    const prod = stages.find((s) => runs(s).some((r) => /^npm ci\b.*--omit=dev/.test(r)))!;
    expect(prod, 'a stage runs `npm ci --omit=dev`').toBeDefined();
    // the runtime stage starts from a plain Node image and takes the production packages and the build
    expect(byName.has(runtime.base)).toBe(false);
    const copies = runtime.steps.filter((i) => i.op === 'COPY').map((i) => i.args);
    expect(copies).toContain(`--from=${prod.name} /app/node_modules ./node_modules`);
    expect(copies).toContain(`--from=${build.name} /app/build ./build`);
    expect(copies).toContain(`--from=${build.name} /app/dist ./dist`);
    expect(runs(runtime).filter((r) => /\bnpm\b/.test(r))).toEqual([]);
    // the image's Node satisfies package.json "engines"
    const version = /NODE_VERSION=(\d+)\.(\d+)/.exec(args.map((a) => a.args).join(' '))!;
    const [, major, minor] = /(\d+)\.(\d+)/.exec(pkg.engines.node)!;
    expect(Number(version[1]) * 1000 + Number(version[2])).toBeGreaterThanOrEqual(Number(major) * 1000 + Number(minor));
    for (const s of stages) expect(s.base.startsWith('node:${NODE_VERSION}') || byName.has(s.base)).toBe(true);
  });

  it('runs as a non-root user, checks /healthz, and starts what `npm run serve` starts', () => {
    const users = runtime.steps.filter((i) => i.op === 'USER').map((i) => i.args);
    expect(users.length).toBeGreaterThan(0);
    expect(users.at(-1)).not.toMatch(/^(root|0)(:|$)/);
    const health = runtime.steps.find((i) => i.op === 'HEALTHCHECK')!;
    expect(health.args).toContain('/healthz');
    const cmd = JSON.parse(runtime.steps.filter((i) => i.op === 'CMD').at(-1)!.args) as string[];
    expect(cmd.join(' ')).toBe(pkg.scripts.serve);
    const env = runtime.steps.filter((i) => i.op === 'ENV').map((i) => i.args).join(' ');
    expect(env).toMatch(/HOST=0\.0\.0\.0/);
    expect(env).toMatch(/NODE_ENV=production/);
    const port = /PORT=(\d+)/.exec(env)![1];
    expect(runtime.steps.find((i) => i.op === 'EXPOSE')?.args).toBe(port);
    // the build stage compiles the server with the build script package.json names
    expect(pkg.scripts.build).toContain('server/tools/build-server.mjs');
  });

  it('.dockerignore keeps installed and built output, local data and the tests out of the context', () => {
    const ignored = read('.dockerignore')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    for (const p of ['node_modules', 'dist', 'build', 'data', '.git', 'test', 'deploy/.env']) expect(ignored).toContain(p);
  });
});

describe('deploy/compose.yaml', () => {
  const compose = parse(read('deploy/compose.yaml'), { merge: true }) as {
    services: Record<string, { image?: string; build?: { context: string; dockerfile: string }; environment?: Record<string, string>; depends_on?: Record<string, { condition: string }>; stop_grace_period?: string; volumes?: string[] }>;
    volumes?: Record<string, unknown>;
  };
  const services = compose.services;
  const apps = Object.entries(services).filter(([, s]) => s.build);
  const envOf = (name: string) => Object.fromEntries(Object.entries(services[name]!.environment ?? {}).map(([k, v]) => [k, interpolate(String(v), example)]));

  it('runs PostgreSQL with a health check and a volume', () => {
    const pg = services.postgres!;
    expect(pg.image).toMatch(/^postgres:\d+/);
    expect(pg.volumes?.some((v) => v.endsWith(':/var/lib/postgresql/data'))).toBe(true);
    expect(JSON.stringify((pg as { healthcheck?: unknown }).healthcheck)).toContain('pg_isready');
  });

  it('runs two instances of the image, each configured for production on PostgreSQL', () => {
    expect(apps.length).toBeGreaterThanOrEqual(2);
    for (const [name, app] of apps) {
      expect(join(PROJECT_ROOT, 'deploy', app.build!.context)).toBe(PROJECT_ROOT);
      expect(app.build!.dockerfile).toBe('Dockerfile');
      expect(app.depends_on?.postgres?.condition).toBe('service_healthy');
      const env = envOf(name);
      const db = new URL(env.DATABASE_URL!);
      expect(db.protocol).toBe('postgres:');
      expect(db.hostname).toBe('postgres');
      expect(db.password).toBe(example.POSTGRES_PASSWORD);
      expect(db.pathname.slice(1)).toBe(services.postgres!.environment!.POSTGRES_DB);
      // the server's configuration takes it all: DATABASE_URL=postgres://… selects PostgreSQL
      const config = loadConfig(env);
      expect(config.postgres?.url).toBe(env.DATABASE_URL);
      expect(config.sandbox).toBe(false);
      expect(config.host).toBe('0.0.0.0');
      expect(config.appUrl).toMatch(/^https:\/\//);
      // the orchestrator waits longer than the drain bound before it kills
      expect(Number.parseInt(app.stop_grace_period!, 10) * 1000).toBeGreaterThan(config.shutdown.timeoutMs);
    }
  });

  it('puts nginx in front of every instance', () => {
    const proxy = Object.values(services).find((s) => s.image?.startsWith('nginx'))!;
    expect(proxy).toBeDefined();
    for (const [name] of apps) expect(proxy.depends_on?.[name]?.condition).toBe('service_healthy');
    const conf = proxy.volumes!.find((v) => v.includes('/etc/nginx/'))!.split(':')[0]!;
    const nginx = read(join('deploy', conf));
    const upstream = [...nginx.matchAll(/^\s*server\s+([\w.-]+):(\d+)/gm)].map((m) => `${m[1]}:${m[2]}`);
    expect(upstream.sort()).toEqual(apps.map(([name]) => `${name}:${envOf(name).PORT}`).sort());
    expect(nginx).toMatch(/proxy_pass\s+http:\/\/\w+;/);
  });
});
