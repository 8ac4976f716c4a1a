/**
 * The import fences of eslint.config.js hold at any folder depth (issue #11 item 18): probe files
 * placed at several depths of each folder are linted with the project's own configuration through
 * ESLint's Node API, and each forbidden import must be reported by the fence rule — one violation
 * per forbidden line, none for the allowed ones. The probes exist only in memory (lintText).
 */
import { ESLint } from 'eslint';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));

const FENCE_RULES = new Set(['import-x/no-restricted-paths', 'no-restricted-imports']);

let eslint: ESLint;
beforeAll(() => {
  eslint = new ESLint({ cwd: PROJECT_ROOT });
});

/** The fence violations a probe at `file` gets for each import line, by line number (1-based). */
async function fenceHits(file: string, imports: string[]): Promise<Map<number, string[]>> {
  const code = imports.map((spec, i) => `import * as m${i} from '${spec}';\nvoid m${i};`).join('\n');
  const [result] = await eslint.lintText(code, { filePath: join(PROJECT_ROOT, file) });
  const hits = new Map<number, string[]>();
  for (const m of result!.messages) {
    if (m.fatal) throw new Error(`${file}: ${m.message}`);
    if (!m.ruleId || !FENCE_RULES.has(m.ruleId)) continue;
    const index = Math.floor((m.line - 1) / 2);
    hits.set(index, [...(hits.get(index) ?? []), m.message]);
  }
  return hits;
}

/** Each probe: where it lives, imports its folder must refuse, imports it may make. */
const PROBES: Array<{ file: string; refused: string[]; allowed: string[] }> = [
  // the example: one level deeper than the old relative patterns looked
  { file: 'server/services/bridge/probe.ts', refused: ['../../storage/db', '../../http/app', '../../compose', 'express', 'better-sqlite3'], allowed: ['../ports', './ports', '../../domain/phone', '../../bitrix/errors', '../../uis/errors'] },
  { file: 'server/services/probe.ts', refused: ['../storage/db', '../http/session', '../main', '../lifecycle'], allowed: ['./ports', '../domain/phone'] },
  { file: 'server/services/crm-rules/deeper/still/probe.ts', refused: ['../../../../storage/db', '../../../../http/app'], allowed: ['../../ports'] },
  { file: 'server/domain/crm-rules/probe.ts', refused: ['../../storage/db', '../../services/ports', '../../http/app', '../../bitrix/rest-client', '../../uis/data-api', '../../logging', '../../../install/plan', 'express', 'node:fs'], allowed: ['../phone', './types', '../../contracts/analytics', 'zod', 'node:crypto'] },
  { file: 'server/domain/probe.ts', refused: ['../storage/db', '../services/bridge/identity'], allowed: ['./phone'] },
  { file: 'server/uis/probe.ts', refused: ['../storage/db', '../services/ports', '../bitrix/rest-client', '../http/app', 'express'], allowed: ['./errors', '../domain/phone', '../contracts/uis'] },
  { file: 'server/uis/deeper/probe.ts', refused: ['../../storage/db', '../../services/ports'], allowed: ['../errors'] },
  { file: 'server/bitrix/probe.ts', refused: ['../services/ports', '../storage/db', '../uis/errors', 'express'], allowed: ['./errors', '../domain/portal', '../../install/plan'] },
  { file: 'server/storage/probe.ts', refused: ['../http/app', '../bitrix/rest-client', '../uis/data-api', '../services/bridge/identity', '../services/start-chat', '../compose', 'express'], allowed: ['./db', '../services/ports', '../services/bridge/ports', '../services/workspace-ports', '../domain/phone', 'better-sqlite3'] },
  { file: 'server/storage/deeper/probe.ts', refused: ['../../services/bridge/worker', '../../http/app'], allowed: ['../db', '../../services/crm-rules/ports'] },
  { file: 'server/http/routes/probe.ts', refused: ['../../storage/db', '../../compose', '../../compose-workspace', '../../config', 'better-sqlite3'], allowed: ['../../services/start-chat', '../../contracts/workspace', '../../domain/errors', './api-caller'] },
  { file: 'server/contracts/probe.ts', refused: ['../domain/phone', '../services/ports', 'express'], allowed: ['./analytics', 'zod'] },
  { file: 'install/probe.ts', refused: ['../server/contracts/analytics', '../app/boot'], allowed: ['./plan'] },
  { file: 'app/components/probe.ts', refused: ['../../server/domain/phone', '../../server/services/ports', '../../test/support/harness', 'express'], allowed: ['../../server/contracts/analytics', '../i18n', '../../install/plan'] },
  { file: 'app/probe.ts', refused: ['../server/storage/db'], allowed: ['../server/contracts/boot'] },
  { file: 'placements/app/probe.ts', refused: ['../../server/services/ports', '../../test/support/harness'], allowed: ['../../app/boot', '../../server/contracts/boot'] },
];

describe('import fences hold at any depth (ESLint Node API over probe files)', () => {
  it.each(PROBES)('$file', async ({ file, refused, allowed }) => {
    const hits = await fenceHits(file, [...refused, ...allowed]);
    const flagged = [...refused, ...allowed].filter((_, i) => hits.has(i));
    expect(flagged).toEqual(refused);
    for (const i of refused.keys()) expect(hits.get(i)!.join(' ')).toMatch(/style\.md §2/);
  });

  it('a fence names what is refused and why', async () => {
    const hits = await fenceHits('server/services/bridge/probe.ts', ['../../storage/db']);
    expect(hits.get(0)).toEqual([expect.stringMatching(/"\.\.\/\.\.\/storage\/db".*services use ports and adapters, never storage/)]);
  });
});
