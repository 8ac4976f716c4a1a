import type { UisProject } from '../../contracts/uis';
import type { Clock } from '../../domain/clock';
import { dataApiForLink } from '../../uis/data-api';
import type { AsyncPort } from '../async-port';
import type { BitrixGateway, UisEndpoints, UisLinkRepository } from '../ports';
import type { TelephonyRepository } from './ports';

export interface LinesDeps {
  telephony: TelephonyRepository;
  links: AsyncPort<UisLinkRepository>;
  gateway: BitrixGateway;
  uisEndpoints(project: UisProject): UisEndpoints;
  clock: Clock;
  fetch?: typeof fetch;
}

export type LinesOutcome = 'skipped' | 'present' | 'created' | 'updated';

type Row = Record<string, unknown>;
const digits = (v: unknown) => (typeof v === 'string' || typeof v === 'number' ? String(v).replace(/\D+/g, '') : '');

/**
 * One Bitrix24 external line per active UIS virtual number (docs/facts/telephony.md#external-lines: NUMBER = digits,
 * NAME = the number's name in UIS), so calls are counted per number in Bitrix24's telephony
 * statistics and a user can pick one as the outgoing line. Lines of numbers the account no longer
 * has are removed; names follow UIS. `CRM_AUTO_CREATE=N`: Bitrix24 does not create CRM items for
 * our lines, the «Телефония» rules do. Without a linked UIS account there is nothing to follow.
 */
export async function syncLines(deps: LinesDeps, memberId: string): Promise<LinesOutcome> {
  const link = await deps.links.get(memberId);
  if (!link) return 'skipped';
  const at = deps.clock.now();
  try {
    const api = dataApiForLink(link, deps.uisEndpoints, deps.fetch);
    const vns = await api.call<Row[]>('get.virtual_numbers', { fields: ['virtual_phone_number', 'name', 'status'] });
    const want = new Map<string, string>();
    for (const v of Array.isArray(vns.data) ? vns.data : []) {
      const n = digits(v.virtual_phone_number);
      if (n && (v.status === undefined || v.status === null || v.status === 'active')) want.set(n, String(v.name ?? '').trim() || n);
    }
    const rest = deps.gateway.client(memberId);
    const have = (await rest.call<Row[]>('telephony.externalLine.get')).result;
    const lines = new Map<string, string>((Array.isArray(have) ? have : []).map((l) => [String(l.NUMBER ?? ''), String(l.NAME ?? '')]));
    const cmds: Record<string, { method: string; params: Row }> = {};
    let i = 0;
    for (const [number, name] of want) {
      if (!lines.has(number)) cmds[`add${i++}`] = { method: 'telephony.externalLine.add', params: { NUMBER: number, NAME: name, CRM_AUTO_CREATE: 'N' } };
      else if (lines.get(number) !== name) cmds[`upd${i++}`] = { method: 'telephony.externalLine.update', params: { NUMBER: number, NAME: name, CRM_AUTO_CREATE: 'N' } };
    }
    for (const number of lines.keys()) if (!want.has(number)) cmds[`del${i++}`] = { method: 'telephony.externalLine.delete', params: { NUMBER: number } };
    const keys = Object.keys(cmds);
    const problems: string[] = [];
    for (let k = 0; k < keys.length; k += 50) {
      const r = await rest.batch(Object.fromEntries(keys.slice(k, k + 50).map((x) => [x, cmds[x]!])));
      for (const [key, e] of Object.entries(r.errors)) {
        // a line someone else added meanwhile is there: that is what we wanted
        if (key.startsWith('add') && /already exists/i.test(e.error_description)) continue;
        problems.push(`${cmds[key]!.method} ${String(cmds[key]!.params.NUMBER)}: ${e.error_description || e.error}`);
      }
    }
    await deps.telephony.saveLines(memberId, { numbers: [...want].map(([number, name]) => ({ number, name })), syncedAt: at, lastError: problems.length ? problems.join('; ') : null });
    if (problems.length) throw Object.assign(new Error(problems.join('; ')), { code: 'LINES_REFUSED' });
    if (!keys.length) return 'present';
    return lines.size ? 'updated' : 'created';
  } catch (e) {
    const prev = await deps.telephony.lines(memberId);
    await deps.telephony.saveLines(memberId, { numbers: prev?.numbers ?? [], syncedAt: at, lastError: (e as Error).message.slice(0, 500) });
    throw e;
  }
}
