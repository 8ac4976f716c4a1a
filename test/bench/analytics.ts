import type { AnalyticsSettings } from '../../server/contracts/analytics';
import { api, installApp, openPage, startHarness } from '../support/harness';

export interface AnalyticsBenchResult {
  leads: number;
  uploaded: number;
  restCalls: number;
  uploadCalls: number;
  limited503: number;
  seconds: number;
}

/**
 * A burst of `leads` open-line leads (live-chat visitors with a UIS session each): every lead
 * fires ONCRMLEADADD at our server; measured until every chat is in UIS analytics.
 */
export async function benchAnalytics(leads: number): Promise<AnalyticsBenchResult> {
  let uploadCalls = 0;
  const counting: typeof fetch = async (input, init) => {
    if (typeof init?.body === 'string' && init.body.includes('"method":"upload.chats"')) uploadCalls++;
    return fetch(input, init);
  };
  const h = await startHarness({ env: { LOG_LEVEL: 'warn' }, fetch: counting });
  try {
    await installApp(h);
    const session = (await openPage(h.portal, { handlerUrl: `${h.app.url}/b24/app` })).boot.session!;
    const acc = h.uis.accounts[0]!;
    acc.setDataApiLimits({ day: 100_000, minute: 10_000 });
    await api(h.app.url, session, 'POST', '/api/uis/link', { project: 'uis', login: acc.login, password: acc.password, dataApiToken: acc.dataApiToken });
    const settings: AnalyticsSettings = {
      enabled: true,
      employeeId: acc.employees[0]!.id,
      trafficType: 'source',
      defaults: { siteId: acc.sites[0]!.id, sourceId: acc.sources[0]!.id, campaignId: null },
      messengers: {},
      webhookToken: null,
    };
    await api(h.app.url, session, 'PUT', '/api/analytics', settings);
    const sessions = Array.from({ length: leads }, () => acc.addSession({ siteId: acc.sites[0]!.id, startedAt: Date.now() - 3_600_000 }).id);
    const restBefore = h.portal.stats.requests;
    const limitedBefore = h.portal.stats.limited503;
    const start = performance.now();
    for (let i = 0; i < leads; i++) {
      h.portal.livechatWrite({
        visitor: { id: `bench-${i}`, name: `Посетитель ${i}`, phone: `+7903${String(1_000_000 + i)}` },
        text: `Вопрос ${i}`,
        customData: [{ GRID: [{ NAME: 'uis_session_id', VALUE: String(sessions[i]) }] }],
      });
    }
    while (acc.uploadedChats().length < leads && performance.now() - start < 300_000) {
      await h.portal.drainEvents();
      await h.app.deps.analyticsWorker.drain();
      await new Promise((r) => setTimeout(r, 50));
    }
    return {
      leads,
      uploaded: acc.uploadedChats().length,
      restCalls: h.portal.stats.requests - restBefore,
      uploadCalls,
      limited503: h.portal.stats.limited503 - limitedBefore,
      seconds: (performance.now() - start) / 1000,
    };
  } finally {
    await h.portal.drainEvents();
    await h.close();
  }
}
