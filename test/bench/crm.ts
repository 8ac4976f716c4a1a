import type { Clock } from '../../server/domain/clock';
import type { CrmRulesSettings } from '../../server/contracts/crm-rules';
import { installAndLink } from '../support/bridge-fixture';
import { api, startHarness } from '../support/harness';
import { defaultCrmRulesSettings } from '../../server/services/crm-rules/settings';

export interface CrmBenchResult {
  /** false when the 10-minute cap ended the wait */
  settled: boolean;
  chats: number;
  leads: number;
  repeats: number;
  restCalls: number;
  dataApiCalls: number;
  limited503: number;
  seconds: number;
  realSeconds: number;
}

/**
 * «Чаты» applied under load: `chats` new clients write on WhatsApp at once (each a new contact +
 * lead + the chat in its timeline), then every second one writes again (a continuation comment).
 * One portal at `rateLimit`; measured until every chat is decided and applied.
 */
export async function benchCrm(o: { clock: Clock; chats: number; rateLimit: { drainPerSec: number; burst: number } }): Promise<CrmBenchResult> {
  let dataApiCalls = 0;
  const counting: typeof fetch = async (input, init) => {
    if (typeof init?.body === 'string' && init.body.includes('"jsonrpc"')) dataApiCalls++;
    return fetch(input, init);
  };
  const h = await startHarness({ clock: o.clock, env: { LOG_LEVEL: 'warn' }, rateLimit: o.rateLimit, fetch: counting });
  try {
    const { acc, session } = await installAndLink(h);
    acc.setDataApiLimits({ day: 100_000, minute: 10_000 });
    const d = defaultCrmRulesSettings('chats');
    const settings: CrmRulesSettings = {
      ...d,
      enabled: true,
      channels: ['whatsapp'],
      responsible: { defaultUserId: 2, rules: [] },
      commentPriority: 'leads',
      funnels: { ...d.funnels, primary: { defaults: { leadStatusId: 'NEW', dealCategoryId: null, dealStageId: null }, rules: [] } },
    };
    await api(h.app.url, session, 'PUT', '/api/crm-rules/chats', settings);
    const rest0 = h.portal.stats.requests;
    const limited0 = h.portal.stats.limited503;
    dataApiCalls = 0;
    const t0 = o.clock.now();
    const r0 = performance.now();
    const phone = (i: number) => `+7926${String(2_000_000 + i)}`;
    const chats = await Promise.all(Array.from({ length: o.chats }, (_, i) => acc.visitorWrite({ channelType: 'whatsapp', visitor: { phone: phone(i) }, text: `Вопрос ${i}` })));
    await Promise.all(chats.filter((_, i) => i % 2 === 0).map((c, i) => acc.visitorWrite({ channelType: 'whatsapp', visitor: { phone: phone(i * 2) }, text: `Уточнение ${c.chatId}` })));
    const repeats = Math.ceil(o.chats / 2);
    const done = async () => {
      const counts = await h.app.deps.crmRequests.count(h.portal.memberId);
      const comments = h.portal.crm.comments().filter((c) => c.comment.includes('Уточнение')).length;
      // settled: nothing pending; a chat whose follow-up was already in its first decision ends
      // `waiting` (skip nothing-new, a later message may still come), the others `done`
      const settledChats = (counts['chat:done'] ?? 0) + (counts['chat:waiting'] ?? 0);
      return settledChats === o.chats && !counts['chat:pending'] && !counts['chat:failed'] && comments === repeats;
    };
    while (!(await done()) && performance.now() - r0 < 600_000) {
      await acc.settle();
      await h.app.deps.crmWorker.drain();
      await new Promise((r) => setTimeout(r, 50));
    }
    return {
      settled: await done(),
      chats: o.chats,
      leads: h.portal.crm.leads().filter((l) => l.ORIGINATOR_ID === 'uis_omni').length,
      repeats,
      restCalls: h.portal.stats.requests - rest0,
      dataApiCalls,
      limited503: h.portal.stats.limited503 - limited0,
      seconds: (o.clock.now() - t0) / 1000,
      realSeconds: (performance.now() - r0) / 1000,
    };
  } finally {
    await h.close();
  }
}
