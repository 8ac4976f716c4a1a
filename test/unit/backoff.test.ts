/**
 * One retry/back-off policy (issue #16): server/domain/backoff.ts computes every wait before a
 * retry; each caller keeps its own limits. The waits are the ones each caller had before.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { backoffDelay, JOB_RETRY } from '../../server/domain/backoff';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const tsFiles = (dir: string): string[] => readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? tsFiles(join(dir, n)) : n.endsWith('.ts') ? [join(dir, n)] : []));

describe('the back-off policy', () => {
  it('durable jobs: 5 s doubling, at most 30 minutes', () => {
    expect([0, 1, 2, 3, 8, 9, 20].map((n) => backoffDelay(JOB_RETRY, n))).toEqual([5_000, 10_000, 20_000, 40_000, 1_280_000, 1_800_000, 1_800_000]);
  });

  it('a cap, a growth factor and a largest exponent', () => {
    expect([0, 1, 5, 10, 11, 30].map((n) => backoffDelay({ baseMs: 1_000, capMs: 10 * 60_000, maxExponent: 10 }, n))).toEqual([1_000, 2_000, 32_000, 600_000, 600_000, 600_000]);
    expect([0, 1, 2, 3].map((n) => backoffDelay({ baseMs: 5_000, factor: 3 }, n))).toEqual([5_000, 15_000, 45_000, 135_000]);
    expect([0, 5, 6, 7].map((n) => backoffDelay({ baseMs: 500, capMs: 30_000 }, n))).toEqual([500, 16_000, 30_000, 30_000]);
  });

  it('jitter spreads the wait by ± the fraction, from the random source', () => {
    const policy = { baseMs: 1000, factor: 1.5, jitter: 0.1 };
    expect(backoffDelay(policy, 0, () => 0)).toBeCloseTo(900);
    expect(backoffDelay(policy, 0, () => 0.5)).toBeCloseTo(1000);
    expect(backoffDelay(policy, 2, () => 1)).toBeCloseTo(2250 * 1.1);
  });

  it('no other module of the server computes a growing wait of its own', () => {
    const own = tsFiles(join(ROOT, 'server'))
      .filter((f) => / \*\* /.test(readFileSync(f, 'utf8').replace(/^\s*(\*|\/\/).*$/gm, '')))
      .map((f) => relative(ROOT, f));
    expect(own).toEqual(['server/domain/backoff.ts']);
  });
});
