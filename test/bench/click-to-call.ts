/**
 * Click-to-call latency (issue #14, «Bench: click → start.employee_call added latency p99 ≤ 50 ms on
 * an idle portal»): real clock, the emulated portal delivering its events at once (no queue delay:
 * that part is Bitrix24's, not ours). t0 just before the employee's click on the emulated portal
 * (which registers the call and POSTs ONEXTERNALCALLSTART to the app); t1 when the app's outbound
 * fetch sends `start.employee_call` to the UIS Call API. So the figure is what the app adds, plus
 * the emulator's own register and delivery — an upper bound. Three cases: «Переопределять АОН» on
 * (no UIS directory needed), off with the SIP lines cached, and off on the first click of a portal
 * (the SIP lines read from the Data API first).
 */
import { defaultTelephonySettings, type TelephonySettings } from '../../server/contracts/telephony-settings';
import { installAndLink } from '../support/bridge-fixture';
import { api, startHarness } from '../support/harness';

const realSleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]! : NaN;
};
const fig = (xs: number[]) => ({ p50: quantile(xs, 0.5), p99: quantile(xs, 0.99), max: Math.max(...xs) });

export interface ClickLatencyResult {
  samples: number;
  missed: number;
  override: { p50: number; p99: number; max: number };
  sipCached: { p50: number; p99: number; max: number };
  /** the first click of a portal with «Переопределять АОН» off: one sample per fresh app */
  sipCold: number[];
}

export async function benchClickToCall(o: { samples: number; pauseMs: number; coldRuns: number }): Promise<ClickLatencyResult> {
  let missed = 0;
  const override: number[] = [];
  const sipCached: number[] = [];
  const sipCold: number[] = [];
  for (let run = 0; run <= o.coldRuns; run++) {
    let sent: number | null = null;
    const stamping: typeof fetch = async (input, init) => {
      const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
      if (url.includes('/callapi/') && typeof init?.body === 'string' && init.body.includes('start.employee_call')) sent ??= performance.now();
      return fetch(input, init);
    };
    const h = await startHarness({ fetch: stamping, events: { delayMs: 0 }, env: { LOG_LEVEL: 'warn' } });
    try {
      const { acc, session } = await installAndLink(h);
      const [anna] = acc.employees.map((e) => e.id) as [number];
      await h.app.deps.employeeSync.replaceMappings(h.portal.memberId, [{ b24UserId: 1, uisEmployeeId: anna, matchedBy: 'email' }]);
      const vns = acc.pbx.virtualNumbers.map((v) => v.number);
      const save = async (overrideCallerId: boolean) => {
        const d = defaultTelephonySettings();
        const s: TelephonySettings = { ...d, enabled: true, responsible: { ...d.responsible, incomingDefaultUserId: 1, outgoingDefaultUserId: 1 }, clickToCall: { use: true, number: vns[1]!, overrideCallerId } };
        const r = await api(h.app.url, session, 'PUT', '/api/telephony', s);
        if (r.status !== 200) throw new Error(`settings refused: ${JSON.stringify(r.json)}`);
      };
      h.portal.telephony.settings.defaultOutgoingLine = { kind: 'line', number: vns[0]! };
      acc.pbx.behave('employee', { action: 'manual' });
      let n = 0;
      const one = async (): Promise<number | null> => {
        // an idle portal: its REST bucket drained, nothing in flight
        for (let i = 0; i < 100 && h.app.deps.gateway.limiter(h.portal.memberId).level() > 1; i++) await realSleep(100);
        await realSleep(o.pauseMs);
        sent = null;
        const phone = `+7916${String(6_000_000 + n++).padStart(7, '0')}`;
        const t0 = performance.now();
        const r = h.portal.clickToCall({ userId: 1, phone });
        if (!r.started) throw new Error(`click not started: ${r.reason}`);
        for (let i = 0; i < 3000 && sent === null; i++) await realSleep(1);
        const t1: number | null = sent;
        if (t1 === null) return null;
        await h.portal.drainEvents();
        await h.app.deps.telephonyWorker.drain();
        return t1 - t0;
      };
      await save(false);
      const first = await one();
      if (first === null) missed++;
      else sipCold.push(first);
      if (run < o.coldRuns) continue;
      for (let i = 0; i < o.samples; i++) {
        const x = await one();
        if (x === null) missed++;
        else sipCached.push(x);
      }
      await save(true);
      for (let i = 0; i < o.samples; i++) {
        const x = await one();
        if (x === null) missed++;
        else override.push(x);
      }
    } finally {
      await h.close();
    }
  }
  return { samples: override.length + sipCached.length + sipCold.length, missed, override: fig(override), sipCached: fig(sipCached), sipCold };
}
