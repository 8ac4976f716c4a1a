/**
 * Helpers of the bridge fault suite and benchmark: a linked portal with a bound line, a fault
 * injector in front of the portal's REST endpoint (the app's outbound fetch), waiting without
 * wall-clock assertions, and the count of what both sides hold.
 */
import type { UisAccount } from '../emulator/uis/index';
import type { EmulatedPortal } from '../emulator/bitrix/index';
import { api, installApp, openPage, type Harness } from './harness';

export const CONNECTOR = 'uis_omni';

/** Install, link the UIS account (admin is a UIS employee by e-mail) and bind `channelType` to line 1. */
export async function linkAndBind(h: Harness, channelType = 'whatsapp'): Promise<{ session: string; acc: UisAccount; channelId: string }> {
  const { session, acc } = await installAndLink(h);
  const channelId = String(acc.adapterChannels().find((c) => c.type === channelType)!.id);
  const b = await api(h.app.url, session, 'PUT', '/api/connector', { line: '1', channelId });
  if (b.status !== 200) throw new Error(`bind failed: ${JSON.stringify(b.json)}`);
  return { session, acc, channelId };
}

/** Install and link the UIS account (admin is a UIS employee by e-mail); the admin's page session. */
export async function installAndLink(h: Harness): Promise<{ session: string; acc: UisAccount }> {
  await installApp(h);
  const session = (await openPage(h.portal, { handlerUrl: `${h.app.url}/b24/app` })).boot.session!;
  const acc = h.uis.accounts[0]!;
  if (!acc.employees.some((e) => e.email === 'admin@portal.example')) {
    acc.employees.push({ id: 900_001, first_name: 'Анна', last_name: 'Админова', full_name: 'Админова Анна', email: 'admin@portal.example', login: 'aadmin', operator_chat_enabled: true, status: 'available' });
  }
  const r = await api(h.app.url, session, 'POST', '/api/uis/link', { project: 'uis', login: acc.login, password: acc.password, dataApiToken: acc.dataApiToken });
  if (r.status !== 200) throw new Error(`link failed: ${JSON.stringify(r.json)}`);
  await acc.settle();
  return { session, acc };
}

export type FaultMode = 'before' | 'after' | 'timeout-after' | 'timeout-before';
interface Rule {
  match: (url: string) => boolean;
  mode: FaultMode;
  status: number;
  remaining: number;
}

/**
 * The app's outbound fetch with faults in front of one origin (the portal): the app reaches the
 * portal at the endpoint the OAuth server confirmed, so a proxy cannot be put there, but every
 * outbound request goes through the injected fetch. Modes: `before` — an nginx 5xx page, the
 * portal never saw the request; `after` — the portal executed it, the answer is a 5xx;
 * `timeout-*` — the client's timeout fires (before or after the portal executed it).
 */
export function faultyFetch(): { fetch: typeof fetch; inject(match: (url: string) => boolean, mode: FaultMode, times: number, status?: number): void; injected: number; pending(): number } {
  const rules: Rule[] = [];
  const self = {
    injected: 0,
    inject(match: (url: string) => boolean, mode: FaultMode, times: number, status = 502) {
      rules.push({ match, mode, status, remaining: times });
    },
    pending: () => rules.reduce((n, r) => n + r.remaining, 0),
    fetch: (async (input: Parameters<typeof fetch>[0], init?: Parameters<typeof fetch>[1]) => {
      const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
      const rule = rules.find((r) => r.remaining > 0 && r.match(url));
      if (!rule) return fetch(input, init);
      rule.remaining--;
      self.injected++;
      const page = `<html><head><title>${rule.status}</title></head><body><center><h1>${rule.status}</h1></center><hr><center>nginx</center></body></html>`;
      const timeout = () => new DOMException('The operation was aborted due to timeout', 'TimeoutError');
      if (rule.mode === 'before') return new Response(page, { status: rule.status, headers: { 'content-type': 'text/html' } });
      if (rule.mode === 'timeout-before') throw timeout();
      const res = await fetch(input, init);
      await res.arrayBuffer();
      if (rule.mode === 'after') return new Response(page, { status: rule.status, headers: { 'content-type': 'text/html' } });
      throw timeout();
    }) as typeof fetch,
  };
  return self;
}

/**
 * Repeats `step` until `done()`; gives up after `rounds`, but not before `floorMs` in all: on a
 * loaded 2-core machine the rounds can run out before the work they wait for is done (CI of stop
 * 18's successor: a CRM lead not yet made after 100 rounds of 30 ms). Every caller waits for an
 * outcome that must come, so the floor only delays a failure; no wall-clock assertion. `done` may
 * read the app's stores (async: the bridge repository on either store).
 */
export async function until(done: () => boolean | Promise<boolean>, step: () => Promise<void>, rounds = 200, pauseMs = 50, floorMs = 30_000): Promise<boolean> {
  const start = Date.now();
  for (let i = 0; i < rounds || Date.now() - start < floorMs; i++) {
    if (await done()) return true;
    await step();
    if (await done()) return true;
    await new Promise((r) => setTimeout(r, pauseMs));
  }
  return done();
}

export interface Holdings {
  uisChats: number;
  b24Chats: number;
  visitorMessages: number;
  b24Inbound: number;
  operatorReplies: number;
  uisOperatorMessages: number;
  /** per UIS chat: UIS visitor message ids vs Bitrix24 inbound external ids, in order */
  inbound: Array<{ uisChatId: number; uis: string[]; b24: string[] }>;
  /** per UIS chat: what operators wrote in Bitrix24 vs what UIS holds from operators, in order */
  outbound: Array<{ uisChatId: number; b24: string[]; uis: string[] }>;
}

/** What both sides hold. `replies[uisChatId]` = texts operators wrote in Bitrix24, in order. */
export function holdings(portal: EmulatedPortal, acc: UisAccount, replies: Map<number, string[]> = new Map()): Holdings {
  const ours = portal.openLines.chats().filter((c) => c.connector === CONNECTOR);
  const uisChats = acc.chats().filter((c) => c.messages.some((m) => m.source === 'visitor'));
  const inbound = uisChats.map((c) => ({
    uisChatId: c.id,
    uis: c.messages.filter((m) => m.source === 'visitor').map((m) => String(m.id)),
    b24: ours.filter((x) => x.externalChatId === `uis_c${c.id}`).flatMap((x) => x.messages.filter((m) => m.direction === 'in' && !m.deleted).map((m) => m.externalId)),
  }));
  const outbound = uisChats.map((c) => ({
    uisChatId: c.id,
    b24: replies.get(c.id) ?? [],
    uis: c.messages.filter((m) => m.source === 'operator').map((m) => m.text),
  }));
  return {
    uisChats: uisChats.length,
    b24Chats: ours.length,
    visitorMessages: inbound.reduce((n, x) => n + x.uis.length, 0),
    b24Inbound: inbound.reduce((n, x) => n + x.b24.length, 0),
    operatorReplies: outbound.reduce((n, x) => n + x.b24.length, 0),
    uisOperatorMessages: outbound.reduce((n, x) => n + x.uis.length, 0),
    inbound,
    outbound,
  };
}

/** Every message on both sides exactly once, in order per chat. */
export function mirrored(x: Holdings): boolean {
  return x.b24Chats === x.uisChats && x.inbound.every((c) => same(c.uis, c.b24)) && x.outbound.every((c) => same(c.b24, c.uis));
}

const same = (a: string[], b: string[]) => a.length === b.length && a.every((v, i) => v === b[i]);

/** A short line for the test output: the count of what both sides hold. */
export function summary(x: Holdings): string {
  return `UIS chats ${x.uisChats} / Bitrix24 chats ${x.b24Chats}; visitor messages ${x.visitorMessages} / in open lines ${x.b24Inbound}; operator replies ${x.operatorReplies} / in UIS ${x.uisOperatorMessages}`;
}
