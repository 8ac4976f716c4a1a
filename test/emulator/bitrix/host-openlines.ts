/**
 * Open lines in the portal chrome:
 *   /online/operator/            «Открытые линии»: chats per line with the connector, messages both
 *                                ways with delivery marks, "Принять", reply with files, "Завершить"
 *   /online/?line=1[&script=URL] a site page with the livechat widget (`script` adds the site's own
 *                                script first, e.g. one that listens for `onBitrixLiveChat`)
 *   /_emu/livechat/loader.js     the widget loader, usable from any site (CORS *)
 *   /_emu/livechat/*             what the widget calls (imopenlines.widget.* analogues)
 *   /_emu/ol/*                   what the operator screen calls
 *   /docs/pub/<hash>/default/, /~<code>   public links of chat files (OnImConnectorMessageAdd files[])
 */
import { readFileSync } from 'node:fs';
import express from 'express';
import { esc, layout } from './host-views';
import { userFullName } from './openlines/chat';
import { customDataJson, livechatRegister, livechatWrite, LivechatError, widgetMessages } from './openlines/livechat';
import { operatorAccept, operatorClose, OperatorError, operatorReply } from './openlines/operator';
import { chatsView } from './openlines/view';
import { isRecord, phpString, type Params } from './php';
import type { PortalImpl } from './portal';
import type { User } from './types';

const asset = (name: string): string => readFileSync(new URL(`./${name}`, import.meta.url), 'utf8');
const OPERATOR_JS = asset('openlines.client.js');
const WIDGET_JS = asset('livechat.client.js');

type CurrentUser = (req: express.Request, res: express.Response) => User;
type Html = (res: express.Response, status: number, body: string) => void;

function cors(res: express.Response): void {
  res.setHeader('Access-Control-Allow-Origin', '*');
  res.setHeader('Access-Control-Allow-Headers', 'content-type');
}

export function openLinesRouter(portal: PortalImpl, currentUser: CurrentUser, html: Html): express.Router {
  const router = express.Router();
  const json = express.json({ limit: '20mb' });

  // ---------------- files ----------------
  const sendFile = (res: express.Response, hash: (h: string) => boolean, inline: boolean) => {
    const f = [...portal.ol.files.values()].find((x) => hash(x.hash));
    if (!f) return void res.status(404).type('text/plain').send('Файл не найден');
    res
      .status(200)
      .type(f.mime)
      .setHeader('Content-Disposition', `${inline ? 'inline' : 'attachment'}; filename*=UTF-8''${encodeURIComponent(f.name)}`)
      .send(f.content);
  };
  router.get('/docs/pub/:hash/default/', (req, res) => sendFile(res, (h) => h === req.params.hash, true));
  router.get('/~:code', (req, res) => sendFile(res, (h) => h.slice(0, 8) === req.params.code, false));

  // ---------------- operator screen ----------------
  router.get('/_emu/openlines.client.js', (_req, res) => {
    res.type('application/javascript; charset=utf-8').setHeader('Cache-Control', 'no-store').send(OPERATOR_JS);
  });

  router.get('/online/operator/', (req, res) => {
    const user = currentUser(req, res);
    const selected = Number(new URL(req.originalUrl, 'http://x').searchParams.get('chat')) || 0;
    const config = JSON.stringify({ userId: user.id, selected }).replace(/</g, '\\u003c');
    const body = `<section class="card ol-screen" id="ol-screen">
  <aside class="ol-list" id="ol-list"><p class="muted">Загрузка…</p></aside>
  <div class="ol-dialog" id="ol-dialog"><p class="muted">Выберите чат слева.</p></div>
</section>
<script type="application/json" id="ol-config">${config}</script>
<script src="/_emu/openlines.client.js"></script>`;
    html(res, 200, layout(portal, user, { title: 'Открытые линии', active: 'openlines', body }));
  });

  router.get('/_emu/ol/state', (req, res) => {
    const user = currentUser(req, res);
    const lines = [...portal.ol.lines.values()].map((l) => ({ id: l.id, name: l.name }));
    const chats = chatsView(portal).map((c) => ({
      ...c,
      messages: c.messages.map((m) => ({ ...m, authorName: m.authorId ? userFullName(portal, m.authorId) : '' })),
      operatorName: c.operatorId ? userFullName(portal, c.operatorId) : '',
    }));
    res.setHeader('Cache-Control', 'no-store');
    res.json({ user: { id: user.id, name: `${user.name} ${user.lastName}` }, lines, chats });
  });

  const operatorAction = (fn: (user: User, p: Params) => unknown) => (req: express.Request, res: express.Response) => {
    const user = currentUser(req, res);
    const p: Params = isRecord(req.body) ? (req.body as Params) : {};
    try {
      res.json({ result: fn(user, p) ?? true });
    } catch (err) {
      if (!(err instanceof OperatorError)) throw err;
      res.status(400).json({ error: err.message.replace(/^bitrix emulator: /, '') });
    }
  };
  router.post('/_emu/ol/accept', json, operatorAction((user, p) => operatorAccept(portal, Number(p.chatId), user.id)));
  router.post('/_emu/ol/close', json, operatorAction((user, p) => operatorClose(portal, Number(p.chatId), user.id)));
  router.post(
    '/_emu/ol/reply',
    json,
    operatorAction((user, p) => {
      const files = (Array.isArray(p.files) ? p.files : []).filter(isRecord).map((f) => ({
        name: phpString(f.name) || 'file',
        mime: phpString(f.mime) || undefined,
        content: Buffer.from(phpString(f.base64), 'base64'),
      }));
      return operatorReply(portal, { chatId: Number(p.chatId), userId: user.id, text: phpString(p.text), files }).id;
    }),
  );

  // ---------------- livechat ----------------
  router.get('/_emu/livechat/loader.js', (_req, res) => {
    cors(res);
    res.type('application/javascript; charset=utf-8').setHeader('Cache-Control', 'no-store').send(WIDGET_JS);
  });
  router.options('/_emu/livechat/{*rest}', (_req, res) => {
    cors(res);
    res.status(204).end();
  });
  const widgetAction = (fn: (p: Params) => unknown) => (req: express.Request, res: express.Response) => {
    cors(res);
    const p: Params = isRecord(req.body) ? (req.body as Params) : {};
    try {
      res.json({ result: fn(p) });
    } catch (err) {
      if (!(err instanceof LivechatError)) throw err;
      res.status(400).json({ error: 'LIVECHAT_ERROR', error_description: err.message });
    }
  };
  const visitorOf = (p: Params) => ({
    id: phpString(p.hash),
    name: phpString(p.name) || undefined,
    lastName: p.lastName === undefined ? undefined : phpString(p.lastName),
    email: phpString(p.email) || undefined,
    phone: phpString(p.phone) || undefined,
  });
  // imopenlines.widget.user.register: CUSTOM_DATA is cached for the next session start
  router.post(
    '/_emu/livechat/register',
    json,
    widgetAction((p) => {
      const custom = typeof p.customData === 'string' ? p.customData : customDataJson(p.customData);
      const { user, guestChatId } = livechatRegister(portal, Number(p.line) || 1, visitorOf(p), custom);
      return { id: user.id, hash: user.externalId, chatId: guestChatId, dialogId: `chat${guestChatId}` };
    }),
  );
  router.post(
    '/_emu/livechat/send',
    json,
    widgetAction((p) => livechatWrite(portal, { lineId: Number(p.line) || 1, visitor: visitorOf(p), text: phpString(p.text) })),
  );
  router.get('/_emu/livechat/messages', (req, res) => {
    cors(res);
    const q = new URL(req.originalUrl, 'http://x').searchParams;
    const user = portal.ol.userByExternal('livechat', q.get('hash') ?? '');
    res.setHeader('Cache-Control', 'no-store');
    res.json({ result: user ? widgetMessages(portal, user.id) : [] });
  });

  router.get(['/online', '/online/'], (req, res) => {
    const q = new URL(req.originalUrl, 'http://x').searchParams;
    const line = Number(q.get('line')) || 1;
    const l = portal.ol.lines.get(line);
    const scripts = q.getAll('script').filter((s) => /^https?:\/\//.test(s) || s.startsWith('/'));
    res
      .status(l ? 200 : 404)
      .type('text/html; charset=utf-8')
      .setHeader('Cache-Control', 'no-store')
      .send(`<!doctype html>
<html lang="ru"><head><meta charset="utf-8"><title>Сайт компании — онлайн-чат</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font:15px/1.5 Arial,sans-serif;margin:0;color:#333;background:#f5f7f8}header{background:#fff;padding:18px 32px;box-shadow:0 1px 3px rgba(0,0,0,.1)}main{padding:32px;max-width:760px}</style>
${scripts.map((s) => `<script src="${esc(s)}"></script>`).join('\n')}
</head><body>
<header><b>Магазин «Пример»</b></header>
<main>
  <h1>Страница сайта с онлайн-чатом</h1>
  <p>${l ? `Виджет открытой линии «${esc(l.name)}» — в правом нижнем углу.` : 'Открытая линия не найдена.'}
  Скрипты сайта могут подписаться на <code>onBitrixLiveChat</code> и вызвать <code>widget.setCustomData([...])</code>;
  добавьте свой скрипт параметром <code>?script=URL</code>.</p>
</main>
${l ? `<script src="/_emu/livechat/loader.js?line=${line}"></script>` : ''}
</body></html>`);
  });

  return router;
}
