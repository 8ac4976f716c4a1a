import { Agent, request } from 'node:http';
import type { AmoSettings, JivoSettings, JivoView } from '../../server/contracts/chat-sources';
import type { Clock } from '../../server/domain/clock';
import { startAmoEmulator } from '../emulator/amocrm';
import { payloads, startJivoEmulator } from '../emulator/jivo';
import { api, installApp, openPage, startHarness, type Harness } from '../support/harness';

/**
 * «Источники чатов» (issue #15) under load:
 * - Jivo: `chats` chat_finished webhooks posted at once (32 in flight, keep-alive) → how fast they
 *   are acknowledged, and how many upload.chats calls carry them (≤ 50 chats per call);
 * - amoCRM: `talks` talks closing over `spreadMs` → amoCRM API calls per talk (a talk read each,
 *   leads and contacts read in lists) and the 429s provoked.
 */
async function linkedHarness(o: { clock?: Clock; fetch?: typeof fetch; amocrm?: Awaited<ReturnType<typeof startAmoEmulator>> }) {
  const h = await startHarness({ env: { LOG_LEVEL: 'warn' }, clock: o.clock, fetch: o.fetch, amocrm: o.amocrm });
  await installApp(h);
  const session = (await openPage(h.portal, { handlerUrl: `${h.app.url}/b24/app` })).boot.session!;
  const acc = h.uis.accounts[0]!;
  acc.setDataApiLimits({ day: 100_000, minute: 10_000 });
  await api(h.app.url, session, 'POST', '/api/uis/link', { project: 'uis', login: acc.login, password: acc.password, dataApiToken: acc.dataApiToken });
  return { h, session, acc };
}

async function waitFor(cond: () => boolean, h: Harness, capMs: number): Promise<boolean> {
  const start = performance.now();
  while (!cond()) {
    if (performance.now() - start > capMs) return false;
    await h.app.deps.chatSourcesWorker.drain();
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

export interface JivoBenchResult {
  chats: number;
  acknowledged: number;
  ackSeconds: number;
  uploaded: number;
  uploadCalls: number;
  uploadSeconds: number;
}

export async function benchJivo(chats: number): Promise<JivoBenchResult> {
  let uploadCalls = 0;
  const counting: typeof fetch = async (input, init) => {
    if (typeof init?.body === 'string' && init.body.includes('"method":"upload.chats"')) uploadCalls++;
    return fetch(input, init);
  };
  const { h, session, acc } = await linkedHarness({ fetch: counting });
  const jivo = await startJivoEmulator();
  const agent = new Agent({ keepAlive: true, maxSockets: 32 });
  try {
    const settings: JivoSettings = { enabled: true, employeeId: acc.employees[0]!.id, trafficType: 'source', defaults: { siteId: acc.sites[0]!.id, sourceId: null, campaignId: null }, messengers: {} };
    const view = (await api(h.app.url, session, 'PUT', '/api/chat-sources/jivo', settings)).json as unknown as JivoView;
    const url = new URL(view.webhookUrl);
    const widget = jivo.channels[0]!.widgetId;
    const bodies = Array.from({ length: chats }, (_, i) => {
      const s = acc.addSession({ siteId: acc.sites[0]!.id, startedAt: Date.now() - 3_600_000 });
      const chat = jivo.startChat({ widgetId: widget, visitor: { name: `Посетитель ${i}`, phone: `+7903${String(30_000_000 + i).slice(1)}` }, userToken: String(s.id), text: `Вопрос ${i}` });
      jivo.agentWrites(chat.chatId, `Ответ ${i}`);
      return JSON.stringify(payloads.chatFinished(chat));
    });
    const post = (body: string) =>
      new Promise<number>((resolve) => {
        const req = request({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', () => resolve(0));
        req.end(body);
      });
    const start = performance.now();
    let next = 0;
    let acknowledged = 0;
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (next < bodies.length) {
          const b = bodies[next++]!;
          if ((await post(b)) === 200) acknowledged++;
        }
      }),
    );
    const ackSeconds = (performance.now() - start) / 1000;
    await waitFor(() => acc.uploadedChats().length >= chats, h, 300_000);
    return { chats, acknowledged, ackSeconds, uploaded: acc.uploadedChats().length, uploadCalls, uploadSeconds: (performance.now() - start) / 1000 };
  } finally {
    agent.destroy();
    await jivo.close();
    await h.close();
  }
}

export interface AmoBenchResult {
  talks: number;
  uploaded: number;
  apiCalls: number;
  byPath: Record<string, number>;
  limited429: number;
  seconds: number;
  settled: boolean;
}

export async function benchAmo(o: { talks: number; spreadMs: number; clock: Clock }): Promise<AmoBenchResult> {
  const amo = await startAmoEmulator({ clock: o.clock, integration: { redirectUri: 'http://placeholder/' } });
  const { h, session, acc } = await linkedHarness({ clock: o.clock, amocrm: amo });
  try {
    const begin = await api(h.app.url, session, 'POST', '/api/chat-sources/amocrm/connect', { name: 'Бенч', domain: amo.host });
    await fetch(await amo.authorize(String(begin.json.authorizeUrl)));
    const account = amo.accounts[0]!;
    const settings: AmoSettings = { enabled: true, trafficType: 'source', defaults: { siteId: acc.sites[0]!.id, sourceId: null, campaignId: null }, messengers: {}, sessionField: { entity: 'leads', fieldId: account.sessionField.id } };
    await api(h.app.url, session, 'PUT', '/api/chat-sources/amocrm', settings);
    const talks = Array.from({ length: o.talks }, (_, i) => {
      const s = acc.addSession({ siteId: acc.sites[0]!.id, startedAt: o.clock.now() - 3_600_000 });
      return account.clientChat({ origin: i % 3 ? 'waba' : 'telegram', name: `Клиент ${i}`, phone: `+7916${String(40_000_000 + i).slice(1)}`, meta: i % 2 ? [{ id: account.sessionField.id, value: String(s.id) }] : [] });
    });
    await amo.settle();
    const before = { requests: amo.stats.requests, byPath: { ...amo.stats.byPath }, limited: amo.stats.limited429 };
    const start = o.clock.now();
    const gap = o.spreadMs / o.talks;
    for (const [i, t] of talks.entries()) {
      account.operatorReads(t.talk_id);
      account.closeTalk(t.talk_id);
      const due = start + (i + 1) * gap - o.clock.now();
      if (due > 0) await o.clock.sleep(due);
    }
    await amo.settle();
    const settled = await waitFor(() => acc.uploadedOfflineMessages().length >= o.talks, h, 600_000);
    const byPath = Object.fromEntries(Object.entries(amo.stats.byPath).map(([k, v]) => [k, v - (before.byPath[k] ?? 0)]).filter(([, v]) => (v as number) > 0));
    return { talks: o.talks, uploaded: acc.uploadedOfflineMessages().length, apiCalls: amo.stats.requests - before.requests, byPath, limited429: amo.stats.limited429 - before.limited, seconds: (o.clock.now() - start) / 1000, settled };
  } finally {
    await amo.settle();
    await h.close();
    await amo.close();
  }
}
