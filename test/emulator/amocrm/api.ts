/**
 * amoCRM API v4 (amocrm.ru/developers/content/crm_platform/*; docs/facts/chat-sources.md#amocrm-api), bearer
 * tokens of oauth.ts, errors as `application/problem+json` {title, type, status, detail}:
 *   GET  /api/v4/account
 *   GET  /api/v4/talks/{id}                       200 / 401 / 402 (unpaid) / 403 / 404
 *   GET  /api/v4/leads/{id}[?with=contacts], GET /api/v4/leads?filter[id][]=…&with=contacts
 *   GET  /api/v4/contacts/{id},              GET /api/v4/contacts?filter[id][]=…
 *   GET  /api/v4/{leads|contacts}/custom_fields?page=&limit=   (paged, `_links.next`)
 *   GET | POST | DELETE /api/v4/webhooks                       (administrators only)
 * Lists page with `page` and `limit` (default 50, at most 250) and answer 204 without a body when
 * nothing matches. A contact of an unsorted lead is not readable until the lead is accepted
 * (unsorted-api: «до принятия неразобранной сделки контакты … недоступны»): 404 alone, absent
 * from lists.
 *
 * Limits (Kommo «Limitations», amocrm.ru …/api/recommendations): at most 7 requests per second;
 * the 8th in any second is answered 429, and an IP that keeps exceeding it is blocked (403 for
 * everything). The scope of the count and the length of the block are not documented: counted per
 * emulator (one IP), 30 × 429 within a minute block it for 10 minutes — both configurable.
 */
import express from 'express';
import type { Clock } from '../../../server/domain/clock';
import { contactJson, leadJson, talkJson, type AmoAccount } from './model';
import type { OAuthServer } from './oauth';

export interface RateLimitOptions {
  perSecond: number;
  blockAfter429s: number;
  blockMs: number;
}

export interface ApiStats {
  requests: number;
  byPath: Record<string, number>;
  limited429: number;
  blocked403: number;
}

type Req = express.Request;
type Res = express.Response;

export function problem(res: Res, status: number, title: string, detail: string, extra: Record<string, unknown> = {}): void {
  res.status(status).type('application/problem+json').send(JSON.stringify({ title, type: 'https://httpstatus.es/' + status, status, detail, ...extra }));
}

class Limiter {
  private hits: number[] = [];
  private refusals: number[] = [];
  private blockedUntil = 0;
  constructor(
    readonly o: RateLimitOptions,
    private readonly clock: Clock,
  ) {}
  /** 'ok', or the status the request gets. */
  take(): 'ok' | 429 | 403 {
    const now = this.clock.now();
    if (now < this.blockedUntil) return 403;
    this.hits = this.hits.filter((t) => now - t < 1000);
    if (this.hits.length >= this.o.perSecond) {
      this.refusals = this.refusals.filter((t) => now - t < 60_000);
      this.refusals.push(now);
      if (this.refusals.length >= this.o.blockAfter429s) this.blockedUntil = now + this.o.blockMs;
      return 429;
    }
    this.hits.push(now);
    return 'ok';
  }
}

const ids = (v: unknown): number[] =>
  ([] as unknown[])
    .concat(v ?? [])
    .flatMap((x) => (typeof x === 'object' && x !== null ? Object.values(x) : [x]))
    .map(Number)
    .filter((n) => Number.isInteger(n) && n > 0);

export function apiRouter(o: { accounts: AmoAccount[]; oauth: OAuthServer; clock: Clock; rateLimit: RateLimitOptions; stats: ApiStats; self: () => string }): express.Router {
  const router = express.Router();
  const limiter = new Limiter(o.rateLimit, o.clock);

  router.use('/api/v4', (req, res, next) => {
    o.stats.requests++;
    const key = `${req.method} /api/v4${req.path.replace(/\/\d+/g, '/{id}')}`;
    o.stats.byPath[key] = (o.stats.byPath[key] ?? 0) + 1;
    const got = limiter.take();
    if (got === 403) {
      o.stats.blocked403++;
      return problem(res, 403, 'Forbidden', 'Доступ с вашего IP-адреса временно ограничен');
    }
    if (got === 429) {
      o.stats.limited429++;
      return problem(res, 429, 'Too Many Requests', 'Превышено допустимое количество запросов в секунду');
    }
    const auth = req.get('authorization') ?? '';
    const who = auth.startsWith('Bearer ') ? o.oauth.check(auth.slice(7)) : 'unknown';
    if (typeof who === 'string') return problem(res, 401, 'Unauthorized', who === 'expired' ? 'Token has expired' : who === 'revoked' ? 'Token has been revoked' : 'Unauthorized');
    const account = o.accounts.find((a) => a.id === who.accountId)!;
    if (account.unpaid) return problem(res, 402, 'Payment Required', 'Аккаунт не оплачен');
    res.locals.account = account;
    res.locals.userId = who.userId;
    next();
  });

  const acc = (res: Res) => res.locals.account as AmoAccount;
  const admin = (res: Res) => res.locals.userId === acc(res).adminUserId;
  const base = () => o.self();

  router.get('/api/v4/account', (_req, res) => {
    const a = acc(res);
    res.json({ id: a.id, name: a.name, subdomain: a.subdomain, created_at: 1_600_000_000, current_user_id: res.locals.userId, country: 'RU', currency: 'RUB', is_unsorted_on: true, _links: { self: { href: `${base()}/api/v4/account` } } });
  });

  router.get('/api/v4/talks/:id', (req, res) => {
    const a = acc(res);
    const t = a.talks.find((x) => x.talk_id === Number(req.params.id));
    if (!t) return problem(res, 404, 'Not Found', 'Беседа не найдена');
    if (a.forbiddenTalks.has(t.talk_id)) return problem(res, 403, 'Forbidden', 'Недостаточно прав для просмотра контакта беседы');
    res.json(talkJson(a, t, base()));
  });

  const page = (req: Req): { page: number; limit: number } | string => {
    const limit = req.query.limit === undefined ? 50 : Number(req.query.limit);
    const p = req.query.page === undefined ? 1 : Number(req.query.page);
    if (!Number.isInteger(limit) || limit < 1 || limit > 250) return 'limit';
    if (!Number.isInteger(p) || p < 1) return 'page';
    return { page: p, limit };
  };
  const list = (req: Req, res: Res, name: string, rows: Array<Record<string, unknown>>, path: string) => {
    const pg = page(req);
    if (typeof pg === 'string') return problem(res, 400, 'Bad Request', 'Request validation failed', { 'validation-errors': [{ request_id: '0', errors: [{ code: 'InvalidType', path: pg, detail: 'This value is not valid.' }] }] });
    const slice = rows.slice((pg.page - 1) * pg.limit, pg.page * pg.limit);
    if (!slice.length) return void res.status(204).end();
    const q = new URLSearchParams(req.url.split('?')[1] ?? '');
    const link = (n: number) => {
      q.set('page', String(n));
      q.set('limit', String(pg.limit));
      return { href: `${base()}${path}?${q.toString()}` };
    };
    const links: Record<string, unknown> = { self: link(pg.page) };
    if (pg.page * pg.limit < rows.length) links.next = link(pg.page + 1);
    res.json({ _page: pg.page, _links: links, _embedded: { [name]: slice } });
  };
  const withContacts = (req: Req) => String(req.query.with ?? '').split(',').includes('contacts');

  router.get('/api/v4/leads', (req, res) => {
    const a = acc(res);
    const want = ids((req.query.filter as Record<string, unknown> | undefined)?.id);
    const rows = a.leads.filter((l) => !want.length || want.includes(l.id)).map((l) => leadJson(a, l, base(), withContacts(req)));
    list(req, res, 'leads', rows, '/api/v4/leads');
  });
  router.get('/api/v4/leads/custom_fields', (req, res) => {
    const a = acc(res);
    list(req, res, 'custom_fields', a.fields.filter((f) => f.entity_type === 'leads').map((f) => ({ ...f, account_id: a.id })), '/api/v4/leads/custom_fields');
  });
  router.get('/api/v4/leads/:id', (req, res) => {
    const a = acc(res);
    const l = a.lead(Number(req.params.id));
    if (!l) return problem(res, 404, 'Not Found', 'Сделка не найдена');
    res.json(leadJson(a, l, base(), withContacts(req)));
  });

  router.get('/api/v4/contacts', (req, res) => {
    const a = acc(res);
    const want = ids((req.query.filter as Record<string, unknown> | undefined)?.id);
    const rows = a.contacts.filter((c) => !c.unsorted && (!want.length || want.includes(c.id))).map((c) => contactJson(a, c, base()));
    list(req, res, 'contacts', rows, '/api/v4/contacts');
  });
  router.get('/api/v4/contacts/custom_fields', (req, res) => {
    const a = acc(res);
    list(req, res, 'custom_fields', a.fields.filter((f) => f.entity_type === 'contacts').map((f) => ({ ...f, account_id: a.id })), '/api/v4/contacts/custom_fields');
  });
  router.get('/api/v4/contacts/:id', (req, res) => {
    const a = acc(res);
    const c = a.contact(Number(req.params.id));
    if (!c || c.unsorted) return problem(res, 404, 'Not Found', 'Контакт не найден');
    res.json(contactJson(a, c, base()));
  });

  const hookJson = (a: AmoAccount, w: AmoAccount['webhooks'][number]) => ({
    id: w.id,
    destination: w.destination,
    created_by: w.created_by,
    account_id: a.id,
    created_at: w.created_at,
    updated_at: w.updated_at,
    sort: w.sort,
    disabled: w.disabled,
    settings: w.settings,
  });
  router.get('/api/v4/webhooks', (req, res) => {
    const a = acc(res);
    if (!admin(res)) return problem(res, 403, 'Forbidden', 'Доступ только для администраторов');
    const dest = (req.query.filter as Record<string, unknown> | undefined)?.destination;
    const rows = a.webhooks.filter((w) => dest === undefined || w.destination === String(dest));
    if (!rows.length) return void res.status(204).end();
    res.json({ _total_items: rows.length, _embedded: { webhooks: rows.map((w) => hookJson(a, w)) } });
  });
  router.post('/api/v4/webhooks', express.json(), (req, res) => {
    const a = acc(res);
    if (!admin(res)) return problem(res, 403, 'Forbidden', 'Доступ только для администраторов');
    if (!a.webhooksByApi) return problem(res, 403, 'Forbidden', 'Тариф аккаунта не позволяет создавать вебхуки через API');
    const b = (req.body ?? {}) as { destination?: unknown; settings?: unknown; sort?: unknown };
    const known = ['add_talk', 'update_talk', 'add_message', 'add_lead', 'update_lead', 'add_contact', 'update_contact'];
    if (typeof b.destination !== 'string' || !/^https?:\/\//.test(b.destination) || !Array.isArray(b.settings) || !b.settings.length || !b.settings.every((s) => known.includes(String(s)))) {
      return problem(res, 400, 'Bad Request', 'Request validation failed', { 'validation-errors': [{ request_id: '0', errors: [{ code: 'InvalidType', path: 'destination|settings', detail: 'This value is not valid.' }] }] });
    }
    const w = a.addWebhook(b.destination, b.settings.map(String), false, typeof b.sort === 'number' ? b.sort : 1);
    res.json(hookJson(a, w));
  });
  router.delete('/api/v4/webhooks', express.json(), (req, res) => {
    const a = acc(res);
    if (!admin(res)) return problem(res, 403, 'Forbidden', 'Доступ только для администраторов');
    const dest = (req.body as { destination?: unknown } | undefined)?.destination;
    const i = a.webhooks.findIndex((w) => w.destination === dest);
    if (i < 0) return problem(res, 404, 'Not Found', 'Вебхук не найден');
    a.webhooks.splice(i, 1);
    res.status(204).end();
  });

  router.use('/api/v4', (_req, res) => problem(res, 404, 'Not Found', 'Метод не найден'));
  return router;
}
