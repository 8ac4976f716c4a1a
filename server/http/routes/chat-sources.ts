import express, { Router } from 'express';
import { amoConnectRequestSchema, amoSettingsSchema, CHAT_SOURCES, jivoSettingsSchema, type ChatSourcesView, type SourceItemView } from '../../contracts/chat-sources';
import { badRequest, forbidden } from '../../domain/errors';
import { amoFields, beginAmoConnect, disconnectAmo, finishAmoConnect } from '../../services/chat-sources/amo-connect';
import { acceptAmoHook, acceptJivoHook } from '../../services/chat-sources/intake';
import { chatSourcesView, saveAmoSettings, saveJivoSettings } from '../../services/chat-sources/settings';
import type { AppDeps } from '../deps';
import { zodMessage } from '../zod-message';
import type { ApiCaller } from './api-caller';

/** «Источники чатов» for our pages: settings, the amoCRM connection, the conversations' outcomes. */
export function chatSourcesApiRouter(deps: AppDeps): Router {
  const router = Router();
  const cs = deps.chatSources;
  const admin = (res: express.Response) => {
    const c = res.locals.caller as ApiCaller;
    if (!c.isAdmin) throw forbidden('NOT_ADMIN', 'Only a portal administrator can change the chat sources');
    return c;
  };
  router.get('/api/chat-sources', async (_req, res) => {
    const caller = res.locals.caller as ApiCaller;
    const view: ChatSourcesView = await chatSourcesView(cs, caller.memberId);
    // the webhook URLs carry their secret: administrators only
    if (!caller.isAdmin) for (const v of [view.jivo, view.amocrm]) v.webhookUrl = v.webhookUrl ? '********' : '';
    res.json(view);
  });
  router.put('/api/chat-sources/jivo', async (req, res) => {
    const caller = admin(res);
    const parsed = jivoSettingsSchema.safeParse(req.body ?? {});
    if (!parsed.success) throw badRequest('VALIDATION_FAILED', zodMessage(parsed.error));
    res.json(await saveJivoSettings(cs, caller.memberId, parsed.data));
  });
  router.put('/api/chat-sources/amocrm', async (req, res) => {
    const caller = admin(res);
    const parsed = amoSettingsSchema.safeParse(req.body ?? {});
    if (!parsed.success) throw badRequest('VALIDATION_FAILED', zodMessage(parsed.error));
    res.json(await saveAmoSettings(cs, caller.memberId, parsed.data));
  });
  router.post('/api/chat-sources/amocrm/connect', async (req, res) => {
    const caller = admin(res);
    const parsed = amoConnectRequestSchema.safeParse(req.body ?? {});
    if (!parsed.success) throw badRequest('VALIDATION_FAILED', zodMessage(parsed.error));
    res.json(await beginAmoConnect(cs, caller.memberId, parsed.data));
  });
  router.delete('/api/chat-sources/amocrm/connection', async (_req, res) => {
    const caller = admin(res);
    await disconnectAmo(cs, caller.memberId);
    res.status(204).end();
  });
  router.get('/api/chat-sources/amocrm/fields', async (_req, res) => {
    const caller = admin(res);
    res.json(await amoFields(cs, caller.memberId));
  });
  router.get('/api/chat-sources/items', async (req, res) => {
    const caller = res.locals.caller as ApiCaller;
    const source = typeof req.query.source === 'string' ? req.query.source : null;
    if (source !== null && !(CHAT_SOURCES as readonly string[]).includes(source)) throw badRequest('VALIDATION_FAILED', 'source must be jivo or amocrm');
    const items = await cs.sources.recent(caller.memberId, source as (typeof CHAT_SOURCES)[number] | null, 100);
    const view: SourceItemView[] = items.map((i) => ({ source: i.source, extId: i.extId, kind: i.kind, channel: i.channel, status: i.status, reason: i.reason, attribution: i.attribution, updatedAt: i.updatedAt }));
    res.json(view);
  });
  return router;
}

const SECRET = /^[\w-]{16,64}$/;

/**
 * The sources' webhooks (`/hooks/jivo/<secret>`, `/hooks/amocrm/<secret>`, with or without a
 * trailing slash: amoCRM's form may add one) and amoCRM's OAuth callback. Answered at once; the
 * work is queued (services/chat-sources/intake.ts).
 */
export function chatSourceHooksRouter(deps: AppDeps): Router {
  const router = Router();
  const cs = deps.chatSources;
  const secret = (req: express.Request) => {
    const s = String(req.params.secret ?? '');
    if (!SECRET.test(s)) throw forbidden('HOOK_REFUSED', 'Unknown webhook URL');
    return s;
  };
  router.post(['/hooks/jivo/:secret', '/hooks/jivo/:secret/'], express.json({ limit: '1mb', type: () => true }), async (req, res) => {
    const outcome = await acceptJivoHook(cs, secret(req), req.body);
    // Jivo expects exactly {"result": "ok"} (jivo.ru/docs/webhooks)
    res.setHeader('X-Outcome', outcome);
    res.json({ result: 'ok' });
  });
  router.post(['/hooks/amocrm/:secret', '/hooks/amocrm/:secret/'], express.urlencoded({ extended: true, limit: '1mb', parameterLimit: 5000 }), async (req, res) => {
    const outcome = await acceptAmoHook(cs, secret(req), req.body);
    res.setHeader('X-Outcome', outcome);
    res.status(200).end();
  });
  router.get('/oauth/amocrm/callback', async (req, res) => {
    const q = Object.fromEntries(['code', 'state', 'referer', 'error'].map((k) => [k, typeof req.query[k] === 'string' ? (req.query[k] as string).slice(0, 2000) : undefined]));
    const r = await finishAmoConnect(cs, q);
    const [title, text] = r.ok
      ? ['amoCRM подключён', r.webhook === 'api' ? 'Учётная запись подключена, вебхук «Беседа изменена» создан. Окно можно закрыть и вернуться в приложение.' : 'Учётная запись подключена. Вебхук «Беседа изменена» создайте в amoCRM вручную — шаги показаны в приложении. Окно можно закрыть.']
      : ['amoCRM не подключён', `${r.message} (${r.code}). Закройте окно и попробуйте снова из приложения.`];
    const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
    res
      .status(r.ok ? 200 : r.status)
      .type('text/html; charset=utf-8')
      .send(`<!doctype html><html lang="ru"><head><meta charset="utf-8"><title>${esc(title)}</title></head><body><h1 data-testid="amo-callback">${esc(title)}</h1><p>${esc(text)}</p></body></html>`);
  });
  return router;
}
