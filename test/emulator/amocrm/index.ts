/**
 * Emulated amoCRM: one HTTP server on 127.0.0.1 standing for www.amocrm.ru (the OAuth chooser)
 * and for the accounts' hosts (`referer` names this host), written from amoCRM's public docs
 * (docs/facts/chat-sources.md#amocrm; each file cites its pages):
 *   GET  /oauth, POST /oauth/allow|deny        the account chooser of the authorization-code flow
 *   POST /oauth2/access_token                   code and refresh grants (oauth.ts)
 *   GET  /oauth2/account/subdomain
 *   /api/v4/*                                   talks, leads, contacts, custom fields, webhooks (api.ts)
 *   GET  /button/embed.js?id=…[&delay=ms]       the site's embed code of the multi-widget
 *   GET  /js/button.js                          the multi-widget (button.client.js)
 *   POST /button/message                        what the widget sends when a visitor writes
 *   GET  /site?script=URL&script=URL…           a customer's site page loading the scripts in order
 * Talk changes go to the subscribed webhooks form-encoded (hooks.ts). See README.md.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { systemClock, type Clock } from '../../../server/domain/clock';
import { apiRouter, problem, type ApiStats, type RateLimitOptions } from './api';
import { HookSender } from './hooks';
import { AmoAccount, SITE_CHAT_ORIGIN } from './model';
import { OAuthError, OAuthServer, type Integration } from './oauth';

export { AmoAccount, SITE_CHAT_ORIGIN } from './model';
export type { Talk, Contact, Lead, Webhook, CustomField } from './model';
export type { HookDelivery } from './hooks';
export type { Integration } from './oauth';

const BUTTON_JS = readFileSync(new URL('./button.client.js', import.meta.url), 'utf8');

export interface AmoEmulator {
  /** 'http://127.0.0.1:<port>' */
  origin: string;
  /** what `referer` carries after the chooser: this host (for real: `{subdomain}.amocrm.ru`) */
  host: string;
  integration: Integration;
  accounts: AmoAccount[];
  oauth: OAuthServer;
  hooks: HookSender;
  stats: ApiStats;
  /** mutable: lower it to provoke 429s */
  rateLimit: RateLimitOptions;
  /** Walk the chooser as the account's admin (or a manager): the URL amoCRM redirects to. */
  authorize(authorizeUrl: string, o?: { accountId?: number; user?: 'admin' | 'manager'; deny?: boolean }): Promise<string>;
  /** The admin makes a webhook by hand («Настройки → Интеграции → Web hooks»). */
  addWebhookByHand(account: AmoAccount, destination: string, events?: string[]): void;
  /** Resolves when no webhook delivery is in flight. */
  settle(): Promise<void>;
  close(): Promise<void>;
}

export interface AmoEmulatorOptions {
  clock?: Clock;
  /** the integration the app uses; the Redirect URI is the app's callback */
  integration: { redirectUri: string; clientId?: string; clientSecret?: string };
  rateLimit?: Partial<RateLimitOptions>;
  /** accounts to create (default 1) */
  accounts?: number;
}

function chooserPage(accounts: AmoAccount[], q: Record<string, string>): string {
  const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
  const hidden = ['client_id', 'state', 'mode'].map((k) => `<input type="hidden" name="${k}" value="${esc(q[k] ?? '')}">`).join('');
  const options = accounts.map((a, i) => `<label><input type="radio" name="account" value="${a.id}"${i === 0 ? ' checked' : ''}> ${esc(a.name)} (${esc(a.subdomain)}.amocrm.ru)</label>`).join('<br>');
  return `<!doctype html><html><head><meta charset="utf-8"><title>Предоставить доступ</title></head><body>
<h1>Интеграция запрашивает доступ к аккаунту</h1>
<form method="post" action="/oauth/allow">${hidden}${options}
<p><label>Пользователь <select name="user"><option value="admin">Администратор</option><option value="manager">Менеджер</option></select></label></p>
<button type="submit" data-testid="amo-allow">Разрешить</button>
<button type="submit" formaction="/oauth/deny" data-testid="amo-deny">Отказать</button></form></body></html>`;
}

const EMBED = (origin: string, id: string, delay: number) => `(function (a, m, o) {
  a[m] = { id: ${JSON.stringify(id)}, hash: "d41d8cd98f00b204e9800998ecf8427e", locale: "ru", setMeta: function (p) { this.params = (this.params || []).concat([p]); } };
  a[o] = a[o] || function () { (a[o].q = a[o].q || []).push(arguments); };
  var d = a.document;
  setTimeout(function () { var s = d.createElement('script'); s.async = true; s.id = m + '_script'; s.src = ${JSON.stringify(`${origin}/js/button.js`)}; d.head && d.head.appendChild(s); }, ${delay});
})(window, 'amo_social_button', 'amoSocialButton');`;

export async function startAmoEmulator(o: AmoEmulatorOptions): Promise<AmoEmulator> {
  const clock = o.clock ?? systemClock;
  const integration: Integration = {
    clientId: o.integration.clientId ?? randomUUID(),
    clientSecret: o.integration.clientSecret ?? randomBytes(32).toString('base64url'),
    redirectUri: o.integration.redirectUri,
  };
  const oauth = new OAuthServer(integration, clock);
  const stats: ApiStats = { requests: 0, byPath: {}, limited429: 0, blocked403: 0 };
  const rateLimit: RateLimitOptions = { perSecond: 7, blockAfter429s: 30, blockMs: 10 * 60_000, ...o.rateLimit };
  let origin = '';
  const hooks = new HookSender(() => origin);
  const accounts: AmoAccount[] = [];
  for (let i = 0; i < (o.accounts ?? 1); i++) {
    accounts.push(new AmoAccount(29_013_640 + i, i === 0 ? 'romashka' : `client${i}`, i === 0 ? 'ООО «Ромашка»' : `Клиент ${i}`, clock, (a, c) => hooks.changed(a, c)));
  }

  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'extended');
  app.set('etag', false);

  app.get('/oauth', (req, res) => {
    const q = Object.fromEntries(Object.entries(req.query).map(([k, v]) => [k, String(v)]));
    if (q.client_id !== integration.clientId) return void res.status(400).type('text/html').send('<h1>Интеграция не найдена</h1>');
    res.type('text/html; charset=utf-8').send(chooserPage(accounts, q));
  });
  const back = (res: express.Response, params: Record<string, string>) => {
    const url = new URL(integration.redirectUri);
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    res.redirect(302, url.toString());
  };
  app.post('/oauth/allow', express.urlencoded({ extended: false }), (req, res) => {
    const b = req.body as Record<string, string>;
    const a = accounts.find((x) => x.id === Number(b.account));
    if (b.client_id !== integration.clientId || !a) return void res.status(400).type('text/html').send('<h1>Неверный запрос</h1>');
    const userId = b.user === 'manager' ? a.adminUserId + 1 : a.adminUserId;
    back(res, { code: oauth.issueCode(a.id, userId), state: b.state ?? '', referer: new URL(origin).host, client_id: integration.clientId });
  });
  app.post('/oauth/deny', express.urlencoded({ extended: false }), (req, res) => {
    const b = req.body as Record<string, string>;
    back(res, { error: 'access_denied', state: b.state ?? '', client_id: integration.clientId });
  });
  app.post('/oauth2/access_token', express.json(), express.urlencoded({ extended: false }), (req, res) => {
    try {
      res.json(oauth.exchange((req.body ?? {}) as Record<string, unknown>));
    } catch (e) {
      if (!(e instanceof OAuthError)) throw e;
      res.status(e.status).type('application/problem+json').send(JSON.stringify(e.body()));
    }
  });
  app.get('/oauth2/account/subdomain', (req, res) => {
    const auth = req.get('authorization') ?? '';
    const who = auth.startsWith('Bearer ') ? oauth.check(auth.slice(7)) : 'unknown';
    if (typeof who === 'string') return problem(res, 401, 'Unauthorized', 'Unauthorized');
    const a = accounts.find((x) => x.id === who.accountId)!;
    res.json({ id: a.id, subdomain: a.subdomain, domain: `${a.subdomain}.amocrm.ru`, top_level_domain: 'ru' });
  });
  app.use(apiRouter({ accounts, oauth, clock, rateLimit, stats, self: () => origin }));

  app.get('/button/embed.js', (req, res) => {
    res.type('application/javascript; charset=utf-8').send(EMBED(origin, String(req.query.id ?? '1'), Number(req.query.delay ?? 0) || 0));
  });
  app.get('/js/button.js', (_req, res) => {
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.type('application/javascript; charset=utf-8').setHeader('Cache-Control', 'no-store').send(BUTTON_JS);
  });
  app.options('/button/message', (_req, res) => {
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.setHeader('Access-Control-Allow-Headers', 'content-type');
    res.status(204).end();
  });
  app.post('/button/message', express.text({ type: () => true }), (req, res) => {
    res.setHeader('Access-Control-Allow-Origin', '*');
    let b: { talkId?: unknown; name?: unknown; phone?: unknown; text?: unknown; fields?: unknown };
    try {
      b = JSON.parse(String(req.body)) as typeof b;
    } catch {
      return void res.status(400).json({ error: 'bad json' });
    }
    const a = accounts[0]!;
    const known = typeof b.talkId === 'number' ? a.talks.find((t) => t.talk_id === b.talkId && t.is_in_work) : undefined;
    if (known) {
      a.clientWrites(known.talk_id);
      return void res.json({ talkId: known.talk_id });
    }
    const fields = Array.isArray(b.fields) ? (b.fields as Array<{ id: unknown; value: unknown }>).map((f) => ({ id: Number(f.id), value: String(f.value) })) : [];
    const t = a.clientChat({ origin: SITE_CHAT_ORIGIN, name: typeof b.name === 'string' ? b.name : undefined, phone: typeof b.phone === 'string' && b.phone ? b.phone : undefined, meta: fields });
    res.json({ talkId: t.talk_id });
  });
  app.get('/site', (req, res) => {
    const scripts = ([] as unknown[]).concat(req.query.script ?? []).map(String);
    const tags = scripts.map((s) => `<script src="${s.replace(/"/g, '&quot;')}"></script>`).join('\n');
    res.type('text/html; charset=utf-8').send(`<!doctype html><html><head><meta charset="utf-8"><title>romashka.ru</title></head><body><h1>Ромашка</h1>\n${tags}\n</body></html>`);
  });

  const server: Server = await new Promise((ok) => {
    const s = app.listen(0, '127.0.0.1', () => ok(s));
  });
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    origin,
    host: new URL(origin).host,
    integration,
    accounts,
    oauth,
    hooks,
    stats,
    rateLimit,
    async authorize(url, opt = {}) {
      const page = await fetch(url);
      if (page.status !== 200) throw new Error(`chooser answered ${page.status}`);
      const q = new URL(url).searchParams;
      const form = new URLSearchParams({ client_id: q.get('client_id') ?? '', state: q.get('state') ?? '', account: String(opt.accountId ?? accounts[0]!.id), user: opt.user ?? 'admin' });
      const r = await fetch(`${origin}/oauth/${opt.deny ? 'deny' : 'allow'}`, { method: 'POST', body: form, redirect: 'manual' });
      const location = r.headers.get('location');
      if (r.status !== 302 || !location) throw new Error(`chooser did not redirect (${r.status})`);
      return location;
    },
    addWebhookByHand(account, destination, events = ['update_talk']) {
      account.addWebhook(destination, events, true);
    },
    settle: () => hooks.settle(),
    close: () =>
      new Promise<void>((ok) => {
        server.close(() => ok());
        server.closeAllConnections();
      }),
  };
}
