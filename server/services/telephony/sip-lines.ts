import type { UisProject } from '../../contracts/uis';
import type { Clock } from '../../domain/clock';
import type { Logger } from '../../logging';
import { dataApiForLink } from '../../uis/data-api';
import type { AsyncPort } from '../async-port';
import type { UisEndpoints, UisLinkRepository } from '../ports';

type Row = Record<string, unknown>;
interface Directory {
  at: number;
  /** employee id → his SIP line (the first one) */
  sip: Map<number, { phoneNumber: string; virtualNumber: string | null }>;
  virtualNumbers: string[];
}

export interface SipLineCache {
  /** The employee's SIP line (Data API get.sip_lines): its number and the virtual number it calls out with. */
  of(memberId: string, employeeId: number): Promise<{ phoneNumber: string; virtualNumber: string | null } | null>;
  isVirtualNumber(memberId: string, digits: string): Promise<boolean>;
  firstVirtualNumber(memberId: string): Promise<string | null>;
}

/** How long the SIP lines and virtual numbers are trusted: a click must not wait on the Data API each time. */
const TTL_MS = 5 * 60_000;

/**
 * The account's SIP lines and virtual numbers, read once per five minutes per portal (two Data API
 * calls; one read in flight per portal). A failed read leaves the old copy (or nothing: no SIP line
 * known, the chosen numbers are used).
 */
export function createSipLineCache(deps: { links: AsyncPort<UisLinkRepository>; uisEndpoints(project: UisProject): UisEndpoints; clock: Clock; log: Logger; fetch?: typeof fetch }): SipLineCache {
  const cache = new Map<string, Directory>();
  const loading = new Map<string, Promise<Directory | null>>();

  async function load(memberId: string): Promise<Directory | null> {
    const link = await deps.links.get(memberId);
    if (!link) return null;
    const api = dataApiForLink(link, deps.uisEndpoints, deps.fetch);
    try {
      const [lines, vns] = await Promise.all([
        api.call<Row[]>('get.sip_lines', { fields: ['employee_id', 'phone_number', 'virtual_phone_number', 'status'] }),
        api.call<Row[]>('get.virtual_numbers', { fields: ['virtual_phone_number', 'status'] }),
      ]);
      const sip = new Map<number, { phoneNumber: string; virtualNumber: string | null }>();
      for (const l of Array.isArray(lines.data) ? lines.data : []) {
        const id = Number(l.employee_id);
        if (!Number.isInteger(id) || sip.has(id) || (l.status && l.status !== 'active')) continue;
        const vn = typeof l.virtual_phone_number === 'string' && l.virtual_phone_number ? l.virtual_phone_number.replace(/\D+/g, '') : null;
        sip.set(id, { phoneNumber: String(l.phone_number ?? ''), virtualNumber: vn });
      }
      const virtualNumbers = (Array.isArray(vns.data) ? vns.data : []).map((v) => String(v.virtual_phone_number ?? '').replace(/\D+/g, '')).filter(Boolean);
      const d = { at: deps.clock.now(), sip, virtualNumbers };
      cache.set(memberId, d);
      return d;
    } catch (e) {
      deps.log.warn({ memberId, code: (e as { code?: string }).code }, 'get.sip_lines failed: the chosen numbers are used');
      return cache.get(memberId) ?? null;
    }
  }

  async function dir(memberId: string): Promise<Directory | null> {
    const d = cache.get(memberId);
    if (d && deps.clock.now() - d.at < TTL_MS) return d;
    let p = loading.get(memberId);
    if (!p) {
      p = load(memberId).finally(() => loading.delete(memberId));
      loading.set(memberId, p);
    }
    return p;
  }

  return {
    of: async (memberId, employeeId) => (await dir(memberId))?.sip.get(employeeId) ?? null,
    isVirtualNumber: async (memberId, digits) => !!(await dir(memberId))?.virtualNumbers.includes(digits),
    firstVirtualNumber: async (memberId) => (await dir(memberId))?.virtualNumbers[0] ?? null,
  };
}
