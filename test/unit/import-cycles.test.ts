/**
 * The cycle check of `npm run lint` (dependency-cruiser, .dependency-cruiser.cjs) keeps the product
 * free of import cycles, type-only imports included (issue #11 item 18: rest-client ⇄
 * services/ports, http/routes/api ⇄ its routers, bridge worker ⇄ worker-context were all
 * type-only). Runs the CLI exactly as the lint script does.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);

type Violation = { from: string; to: string; rule: { name: string }; cycle?: Array<{ name: string }> };

async function cruise(paths: string[]): Promise<Violation[]> {
  const bin = join(ROOT, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');
  const args = [bin, ...paths, '--config', '.dependency-cruiser.cjs', '--output-type', 'json'];
  // depcruise exits non-zero when it finds violations; the JSON report is on stdout either way
  const out = await run(process.execPath, args, { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 }).catch((e: { stdout?: string }) => ({ stdout: e.stdout ?? '' }));
  return (JSON.parse(out.stdout) as { summary: { violations: Violation[] } }).summary.violations;
}

describe('import cycles (npm run lint)', () => {
  it('the product code has none, type-only imports included', async () => {
    const cycles = (await cruise(['server', 'install', 'app', 'placements'])).filter((v) => v.rule.name === 'no-circular');
    expect(cycles.map((v) => [v.from, ...(v.cycle ?? []).map((c) => c.name)].join(' → '))).toEqual([]);
  }, 120_000);

  it('a cycle made of type-only imports is reported', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'omni-cycle-'));
    try {
      await writeFile(join(dir, 'a.ts'), "import type { B } from './b';\nexport interface A { b: B }\n");
      await writeFile(join(dir, 'b.ts'), "import type { A } from './a';\nexport interface B { a: A }\n");
      const found = await cruise([dir]);
      expect(found.map((v) => v.rule.name)).toContain('no-circular');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
