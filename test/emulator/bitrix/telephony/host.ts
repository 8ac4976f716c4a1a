/**
 * Telephony in the portal chrome (a person or Playwright clicks through it):
 *   /telephony/                         «Телефония»: the outgoing line (portal default and the current
 *                                       user's), the app's external lines, calls in progress, the call
 *                                       history (statistics) with records, chat messages about calls
 *   /contact_center/callback/           «Обратная форма» settings: the line and the text spoken
 *   /crm/forms/callback/                the public callback form a site visitor fills in
 *   /_emu/telephony/cards               the current user's call cards (polled by telephony.client.js,
 *                                       which shows them as the portal's call card pop-up)
 *   POST /_emu/telephony/click          a click on a phone number (CRM card) → click-to-call
 *   POST /_emu/telephony/cards/close    the user closes a card
 *   /_emu/telephony/file/<id>           a record file (the timeline's player)
 *   POST /rest/upload.json?token=…      the uploadUrl of attachRecord (multipart, field `file`)
 */
import { readFileSync } from 'node:fs';
import express from 'express';
import { RestError } from '../errors';
import { esc, layout } from '../host-views';
import { readUploadToken } from '../methods/telephony';
import { isoDate, type Params } from '../php';
import type { PortalImpl } from '../portal';
import type { User } from '../types';
import { attachFile, formatPhone, sniffAudio, statisticOf, TYPE_NAMES } from './calls';
import { clickToCall, submitCallbackForm } from './events';
import { telephonyOf, type OutgoingLine } from './store';

const CLIENT_JS = readFileSync(new URL('./telephony.client.js', import.meta.url), 'utf8');

type CurrentUser = (req: express.Request, res: express.Response) => User;
type Html = (res: express.Response, status: number, body: string) => void;

const lineKey = (l: OutgoingLine): string => (l === null ? 'b24' : l.kind === 'app' ? 'app' : `line:${l.number}`);
const parseLine = (v: unknown): OutgoingLine => {
  const s = String(v ?? '');
  if (s === 'app') return { kind: 'app' };
  if (s.startsWith('line:')) return { kind: 'line', number: s.slice(5) };
  return null;
};

function lineOptions(portal: PortalImpl, current: OutgoingLine, withDefault = false): string {
  const t = telephonyOf(portal);
  const opts: Array<[string, string]> = [];
  if (withDefault) opts.push(['default', 'Как на портале']);
  opts.push(['b24', 'Телефония Битрикс24']);
  if (portal.install?.installed) {
    opts.push(['app', `Приложение «${portal.shared.app.name}»`]);
    for (const l of t.lines.filter((x) => x.appId === t.appId())) opts.push([`line:${l.number}`, `${portal.shared.app.name}: ${l.name || l.number} (${l.number})`]);
  }
  const key = current === undefined ? 'default' : lineKey(current);
  return opts.map(([v, label]) => `<option value="${esc(v)}"${v === key ? ' selected' : ''}>${esc(label)}</option>`).join('');
}

/** Minimal multipart/form-data reader for the upload endpoint (one file field). */
function readMultipart(body: Buffer, contentType: string): Array<{ name: string; filename: string | null; data: Buffer }> {
  const m = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType);
  if (!m) return [];
  const boundary = Buffer.from(`--${m[1] ?? m[2]}`);
  const parts: Array<{ name: string; filename: string | null; data: Buffer }> = [];
  let pos = body.indexOf(boundary);
  while (pos >= 0) {
    const start = pos + boundary.length;
    if (body.subarray(start, start + 2).toString() === '--') break;
    const next = body.indexOf(boundary, start);
    if (next < 0) break;
    const part = body.subarray(start + 2, next - 2);
    const sep = part.indexOf('\r\n\r\n');
    if (sep >= 0) {
      const head = part.subarray(0, sep).toString('utf8');
      const name = /name="([^"]*)"/i.exec(head)?.[1] ?? '';
      const filename = /filename="([^"]*)"/i.exec(head)?.[1] ?? null;
      parts.push({ name, filename, data: part.subarray(sep + 4) });
    }
    pos = next;
  }
  return parts;
}

/** POST /rest/upload.json: Helper::uploadRecord for the call the signed token names. Mounted before the REST router. */
export function telephonyUploadRouter(portal: PortalImpl): express.Router {
  const router = express.Router();
  router.post(['/rest/upload.json', '/rest/upload'], express.raw({ type: () => true, limit: '50mb' }), (req, res) => {
    const q = new URL(req.originalUrl, 'http://x').searchParams;
    const send = (status: number, body: Params) => res.status(status).type('application/json; charset=utf-8').send(JSON.stringify(body));
    const check = portal.shared.tokens.check(q.get('auth') ?? '', portal.memberId);
    if (!check.ok) return send(401, { error: check.error, error_description: 'The access token provided is invalid.' });
    const callId = readUploadToken(portal, q.get('token') ?? '');
    if (!callId) return send(400, { error: 'WRONG_TOKEN', error_description: 'Wrong upload token' });
    try {
      const file = readMultipart(Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0), String(req.headers['content-type'] ?? '')).find((p) => p.name === 'file' && p.filename !== null);
      if (!file) throw new RestError('', 'Error: required parameter file is not found', 400);
      const name = file.filename ?? '';
      const ext = name.includes('.') ? name.slice(name.lastIndexOf('.') + 1) : '';
      if (!['wav', 'mp3'].includes(ext)) throw new RestError('', 'Wrong file extension. Only wav and mp3 are allowed', 400);
      const row = statisticOf(telephonyOf(portal), callId);
      const mime = sniffAudio(file.data);
      if (!mime) throw new RestError('', 'Неверный тип файла', 400);
      const id = attachFile(portal, row, { name, size: file.data.length, mime, bytes: file.data, via: 'upload', url: null });
      const t = portal.shared.clock.now() / 1000;
      send(200, { result: { FILE_ID: id }, time: { start: t, finish: t, duration: 0, processing: 0, date_start: isoDate(t * 1000), date_finish: isoDate(t * 1000) } });
    } catch (e) {
      const err = e instanceof RestError ? e : new RestError('', String(e), 400);
      send(err.status, err.body());
    }
  });
  return router;
}

export function telephonyRouter(portal: PortalImpl, currentUser: CurrentUser, html: Html): express.Router {
  const router = express.Router();
  const t = telephonyOf(portal);
  const form = express.urlencoded({ extended: false });

  router.get('/_emu/telephony.client.js', (_req, res) => {
    res.type('application/javascript; charset=utf-8').setHeader('Cache-Control', 'no-store').send(CLIENT_JS);
  });

  router.get('/_emu/telephony/cards', (req, res) => {
    const user = currentUser(req, res);
    res.setHeader('Cache-Control', 'no-store');
    res.json({
      userId: user.id,
      cards: t.visibleCards(user.id).map((c) => {
        const type = c.crmEntityType.toLowerCase();
        return {
          callId: c.callId,
          phone: formatPhone(c.phone),
          incoming: c.incoming,
          direction: TYPE_NAMES[c.incoming] ?? '',
          line: c.lineName,
          live: t.calls.has(c.callId),
          crm: c.crmEntityId ? { type: c.crmEntityType, id: c.crmEntityId, url: `/crm/${type}/details/${c.crmEntityId}/` } : null,
        };
      }),
    });
  });

  router.post('/_emu/telephony/cards/close', express.json(), (req, res) => {
    const user = currentUser(req, res);
    const callId = String((req.body as Params | undefined)?.callId ?? '');
    t.hide([user.id], callId, portal.shared.clock.now());
    res.json({ result: true });
  });

  router.post('/_emu/telephony/click', express.json(), (req, res) => {
    const user = currentUser(req, res);
    const b = (req.body ?? {}) as Params;
    const out = clickToCall(portal, { userId: user.id, phone: String(b.phone ?? ''), entityType: String(b.entityType ?? ''), entityId: Number(b.entityId ?? 0) });
    res.json(out);
  });

  router.get('/_emu/telephony/file/:id', (req, res) => {
    const f = t.files.find((x) => x.id === Number(req.params.id));
    if (!f) return void res.status(404).type('text/plain').send('Файл не найден');
    res.status(200).type(f.mime).setHeader('Content-Disposition', `inline; filename*=UTF-8''${encodeURIComponent(f.name)}`).send(f.bytes);
  });

  router.get('/telephony/', (req, res) => {
    const user = currentUser(req, res);
    const users = portal.crm.directory.users;
    const uname = (id: number) => {
      const u = users.find((x) => x.id === id);
      return u ? `${u.name} ${u.lastName}`.trim() : `#${id}`;
    };
    const mine = t.settings.userOutgoingLines.has(user.id) ? t.settings.userOutgoingLines.get(user.id)! : undefined;
    const lines = t.lines.filter((l) => l.appId === t.appId());
    const live = [...t.calls.values()];
    const stats = [...t.statistics].reverse();
    const body = `<section class="card">
  <h3>Номер для исходящего звонка</h3>
  <form method="post" action="/telephony/settings" class="row-form">
    ${user.admin ? `<label>По умолчанию на портале <select name="portal" data-testid="default-outgoing-line">${lineOptions(portal, t.settings.defaultOutgoingLine)}</select></label>` : ''}
    <label>Мой номер для исходящих <select name="mine" data-testid="my-outgoing-line">${lineOptions(portal, mine as OutgoingLine, true)}</select></label>
    <button class="button" type="submit" data-testid="save-telephony">Сохранить</button>
  </form>
  <p class="muted">Звонок по клику на номер в CRM уходит в приложение, только когда выбран его номер (событие ONEXTERNALCALLSTART).</p>
</section>
<section class="card"><h3>Внешние линии приложений</h3>
${lines.length ? `<table class="grid"><thead><tr><th>Номер</th><th>Название</th><th>Создавать лид</th></tr></thead><tbody>${lines.map((l) => `<tr data-testid="external-line"><td>${esc(l.number)}</td><td>${esc(l.name ?? '')}</td><td>${l.crmAutoCreate === 'Y' ? 'да' : 'нет'}</td></tr>`).join('')}</tbody></table>` : '<p class="muted">нет</p>'}
</section>
<section class="card"><h3>Звонки сейчас</h3>
${live.length ? `<ul>${live.map((c) => `<li data-testid="live-call">${esc(TYPE_NAMES[c.type] ?? '')} ${esc(formatPhone(c.phone))} · ${esc(uname(c.userId))} · <code>${esc(c.callId)}</code></li>`).join('')}</ul>` : '<p class="muted">нет</p>'}
</section>
<section class="card"><h3>Детализация звонков</h3>
${stats.length ? `<table class="grid"><thead><tr><th>Начало</th><th>Тип</th><th>Номер</th><th>Сотрудник</th><th>Длительность</th><th>Статус</th><th>Запись</th></tr></thead><tbody>${stats
      .map((s) => {
        const f = s.fileId !== null ? t.files.find((x) => x.id === s.fileId) : undefined;
        return `<tr data-testid="call-stat"><td>${esc(isoDate(s.startedAt).slice(0, 16).replace('T', ' '))}</td><td>${esc(TYPE_NAMES[s.type] ?? '')}</td><td>${esc(formatPhone(s.phone))}</td><td>${esc(uname(s.userId))}</td><td>${s.duration} с</td><td>${esc(s.statusCode)}</td><td>${f ? `<audio controls preload="none" src="/_emu/telephony/file/${f.id}"></audio> ${esc(f.name)}` : ''}</td></tr>`;
      })
      .join('')}</tbody></table>` : '<p class="muted">пока пусто</p>'}
</section>
<section class="card"><h3>Сообщения о звонках в чате</h3>
${t.chat.length ? `<ul>${t.chat.map((c) => `<li data-testid="call-chat">${esc(uname(c.userId))}: ${esc(c.text)}</li>`).join('')}</ul>` : '<p class="muted">нет</p>'}
</section>`;
    html(res, 200, layout(portal, user, { title: 'Телефония', active: 'telephony', body }));
  });

  router.post('/telephony/settings', form, (req, res) => {
    const user = currentUser(req, res);
    const b = (req.body ?? {}) as Record<string, string>;
    if (user.admin && b.portal !== undefined) t.settings.defaultOutgoingLine = parseLine(b.portal);
    if (b.mine !== undefined) {
      if (b.mine === 'default') t.settings.userOutgoingLines.delete(user.id);
      else t.settings.userOutgoingLines.set(user.id, parseLine(b.mine));
    }
    res.redirect(303, '/telephony/');
  });

  router.get('/contact_center/callback/', (req, res) => {
    const user = currentUser(req, res);
    const f = t.settings.callbackForm;
    const body = `<section class="card">
  <h3>Обратная форма</h3>
  <form method="post" action="/contact_center/callback/">
    <p><label>Звонить через <select name="line" data-testid="callback-line"${user.admin ? '' : ' disabled'}>${lineOptions(portal, f.line)}</select></label></p>
    <p><label>Текст для сотрудника <input name="text" size="60" value="${esc(f.text)}"${user.admin ? '' : ' disabled'}></label></p>
    ${user.admin ? '<button class="button" type="submit" data-testid="save-callback">Сохранить</button>' : '<p class="muted">Настройки меняет администратор.</p>'}
  </form>
  <p><a href="/crm/forms/callback/" target="_blank" data-testid="open-callback-form">Открыть форму на сайте</a></p>
</section>`;
    html(res, 200, layout(portal, user, { title: 'Обратная форма', active: 'contact_center', body }));
  });

  router.post('/contact_center/callback/', form, (req, res) => {
    const user = currentUser(req, res);
    const b = (req.body ?? {}) as Record<string, string>;
    if (user.admin) {
      t.settings.callbackForm.line = parseLine(b.line);
      if (typeof b.text === 'string' && b.text.trim() !== '') t.settings.callbackForm.text = b.text.trim();
    }
    res.redirect(303, '/contact_center/callback/');
  });

  const formPage = (inner: string) => `<!doctype html><html lang="ru"><head><meta charset="utf-8"><title>Обратный звонок</title>
<link rel="stylesheet" href="/_emu/host-page.css"></head><body><main class="workarea"><section class="card" style="max-width:420px">${inner}</section></main></body></html>`;

  router.get('/crm/forms/callback/', (_req, res) => {
    res.status(200).type('text/html; charset=utf-8').send(
      formPage(`<h3>Перезвоните мне</h3><form method="post" action="/crm/forms/callback/">
<p><label>Имя<br><input name="name" data-testid="callback-name"></label></p>
<p><label>Телефон<br><input name="phone" data-testid="callback-phone" required></label></p>
<button class="button" type="submit" data-testid="callback-submit">Жду звонка</button></form>`),
    );
  });

  router.post('/crm/forms/callback/', form, (req, res) => {
    const b = (req.body ?? {}) as Record<string, string>;
    const phone = String(b.phone ?? '').trim();
    if (phone === '') return void res.status(400).type('text/html; charset=utf-8').send(formPage('<p>Укажите телефон.</p>'));
    const out = submitCallbackForm(portal, { name: b.name, phone });
    res.status(200).type('text/html; charset=utf-8').send(formPage(`<p data-testid="callback-done" data-lead="${out.leadId}">Спасибо! Мы перезвоним вам.</p>`));
  });

  return router;
}
