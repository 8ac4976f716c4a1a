/**
 * Every citation of a fact page resolves inside the repository (issue #16): code, tests and
 * emulator notes cite `docs/<page>.md#<anchor>`, and each such page must exist and hold that anchor
 * (an explicit `<a id="…">` or a heading's slug). The team's research notes outside the repository
 * (`shared/reference/…`, `bitrix24-rest.md §N` and the like) are no longer cited. The links between
 * the docs pages and from README.md resolve too.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SCANNED = ['server', 'app', 'test', 'install', 'placements'];
const EXTENSIONS = /\.(ts|vue|js|mjs|cjs|md)$/;

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...filesUnder(path));
    else if (EXTENSIONS.test(name)) out.push(path);
  }
  return out;
}

/** GitHub's heading slug: lower case, punctuation dropped, spaces to hyphens. */
const slug = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');

const anchorCache = new Map<string, Set<string>>();
function anchorsOf(file: string): Set<string> {
  let anchors = anchorCache.get(file);
  if (!anchors) {
    const text = readFileSync(file, 'utf8');
    anchors = new Set([...text.matchAll(/<a id="([^"]+)"><\/a>/g)].map((m) => m[1]!));
    for (const m of text.matchAll(/^#{1,6} (.+)$/gm)) anchors.add(slug(m[1]!));
    anchorCache.set(file, anchors);
  }
  return anchors;
}

/** What is wrong with `page#anchor` (a path from the repository root), or null when it resolves. */
function dangling(page: string, anchor: string | undefined): string | null {
  const file = join(ROOT, page);
  if (!existsSync(file)) return `${page} does not exist`;
  if (anchor !== undefined && !anchorsOf(file).has(decodeURIComponent(anchor))) return `${page} has no anchor #${anchor}`;
  return null;
}

const CITATION = /\bdocs\/[\w./-]+\.md(?:#[\p{L}\p{N}_-]+)?/gu;
const OUT_OF_REPO = /shared\/reference\/|\b(?:bitrix24-rest|uis-api|frame-and-sdk)(?:\.md)?`?\s*(?:\*\s*)?§|(?<!docs\/facts\/|docs\/)\b(?:telephony|chat-sources)\.md`?\s*(?:\*\s*)?§/;

const SELF = fileURLToPath(import.meta.url);
const scanned = SCANNED.flatMap((d) => filesUnder(join(ROOT, d))).filter((f) => f !== SELF);

describe('citations of docs/ resolve inside the repository', () => {
  it('scans the code, the tests and the emulator notes', () => {
    expect(scanned.length).toBeGreaterThan(100);
  });

  it('every docs/<page>.md#<anchor> cited in server/, app/, test/, install/ and placements/ exists', () => {
    const problems: string[] = [];
    let citations = 0;
    for (const file of scanned) {
      for (const m of readFileSync(file, 'utf8').matchAll(CITATION)) {
        citations++;
        const [page, anchor] = m[0].split('#') as [string, string | undefined];
        const problem = dangling(page.replace(/\.$/, ''), anchor);
        if (problem) problems.push(`${relative(ROOT, file)}: ${m[0]} — ${problem}`);
      }
    }
    expect(problems).toEqual([]);
    expect(citations).toBeGreaterThan(100);
  });

  it('nothing cites the research notes outside the repository (shared/reference, "bitrix24-rest.md §N"…)', () => {
    const offenders = scanned.flatMap((file) =>
      readFileSync(file, 'utf8')
        .split('\n')
        .map((line, i) => ({ line, i }))
        .filter(({ line }) => OUT_OF_REPO.test(line))
        .map(({ line, i }) => `${relative(ROOT, file)}:${i + 1}: ${line.trim()}`),
    );
    expect(offenders).toEqual([]);
  });

  it('the links of README.md and docs/ between themselves resolve', () => {
    const pages = [join(ROOT, 'README.md'), ...filesUnder(join(ROOT, 'docs'))];
    const problems: string[] = [];
    for (const file of pages) {
      for (const m of readFileSync(file, 'utf8').matchAll(/\]\(([^)#\s]+\.md|[^)#\s]*\/)?(#[^)\s]+)?\)/g)) {
        const [, target, hash] = m;
        if (target?.includes('://')) continue;
        const page = target ? relative(ROOT, normalize(join(dirname(file), target))) : relative(ROOT, file);
        const problem = page.endsWith('/') || !page.endsWith('.md') ? (existsSync(join(ROOT, page)) ? null : `${page} does not exist`) : dangling(page, hash?.slice(1));
        if (problem) problems.push(`${relative(ROOT, file)}: ${m[0]} — ${problem}`);
      }
    }
    expect(problems).toEqual([]);
  });
});
