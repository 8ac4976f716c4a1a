/**
 * GET /pbx?account=<appId> — the emulated PBX for a person: call a virtual number as a client
 * (with DTMF for the menu), call a client as an employee, and answer / decline / transfer / hang
 * up as the employees whose phones ring; below, the notifications sent and the interactive
 * processing requests, and the URL of the interactive operation (what an admin types into the UIS
 * scenario). Everything goes through the same Pbx methods tests use.
 * JSON: GET /pbx/api/state, POST /pbx/api/{incoming,outgoing,action,interactive}.
 */
import express from 'express';
import { esc, inlineJson, page, pickAccount, sendHtml } from '../pages/views';
import type { World } from '../world';
import { EVENT_TYPES } from './notify';
import { pbxOf, type Pbx, type Who } from './pbx';
import { dataApiDateTime } from '../time';

const SCRIPT = `
const cfg = window.__pbx;
const $ = (id) => document.getElementById(id);
function esc(s) { return String(s ?? '').replace(/[&<>"']/g, (c) => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;',"'":'&#39;'})[c]); }
async function post(path, body) {
  const r = await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ account: cfg.account, ...body }) });
  const out = await r.json().catch(() => ({}));
  $('p-error').hidden = r.ok; if (!r.ok) $('p-error').textContent = out.error || 'Ошибка';
  await poll();
  return out;
}
const STATE = { ringing: 'звонит', talking: 'разговор', ended: 'завершён' };
function legHtml(c, l) {
  const who = l.employee ? l.employee : l.party === 'contact' ? 'клиент ' + l.called : 'номер ' + l.called;
  let btns = '';
  if (l.state === 'ringing') {
    btns = ' <button data-testid="pbx-answer" data-call="' + c.id + '" data-leg="' + l.id + '" data-act="answer">Ответить</button>' +
      ' <button class="secondary" data-call="' + c.id + '" data-leg="' + l.id + '" data-act="busy">Занято</button>' +
      ' <button class="secondary" data-call="' + c.id + '" data-leg="' + l.id + '" data-act="noAnswer">Не отвечать</button>';
  }
  return '<li data-testid="pbx-leg" data-state="' + l.state + '" data-employee="' + (l.employeeId ?? '') + '">' + esc(who) + ' — ' + esc(STATE[l.state] || l.state) +
    (l.isTransfered ? ' (перевод)' : '') + (l.finishReason ? ' <small class="muted">' + esc(l.finishReason) + '</small>' : '') + btns + '</li>';
}
function callHtml(c) {
  let ctl = '';
  if (c.state === 'ringing') ctl = '<button class="secondary" data-call="' + c.id + '" data-act="abandon">Клиент положил трубку</button>';
  if (c.state === 'talking') {
    ctl = '<button data-testid="pbx-hangup" data-call="' + c.id + '" data-act="hangup" data-by="contact">Завершить (клиент)</button> ' +
      '<button class="secondary" data-call="' + c.id + '" data-act="hangup" data-by="employee">Завершить (сотрудник)</button> ' +
      '<select id="tr-' + c.id + '">' + cfg.employees.map((e) => '<option value="' + e.id + '">' + esc(e.name) + '</option>').join('') + '</select> ' +
      '<button class="secondary" data-call="' + c.id + '" data-act="transfer">Перевести</button>';
  }
  return '<div class="panel" style="margin-bottom:10px" data-testid="pbx-call" data-call="' + c.id + '" data-state="' + c.state + '">' +
    '<b>Звонок №' + c.id + '</b> · ' + (c.direction === 'in' ? 'входящий' : 'исходящий') + ' · ' + esc(c.source) + ' · клиент ' + esc(c.contact) +
    ' · номер ' + esc(c.virtualNumber || '') + (c.externalId ? ' · external_id ' + esc(c.externalId) : '') +
    ' · <b>' + esc(STATE[c.state] || c.state) + '</b>' + (c.finishReason ? ' <small class="muted">' + esc(c.finishReason) + ', разговор ' + c.talkSeconds + ' с</small>' : '') +
    '<ul>' + c.legs.map((l) => legHtml(c, l)).join('') + '</ul>' + ctl + '</div>';
}
function render(st) {
  $('p-calls').innerHTML = st.calls.length ? st.calls.map(callHtml).join('') : '<div class="empty">Звонков пока нет</div>';
  $('p-notes').innerHTML = st.notifications.map((n) => '<tr><td>' + esc(n.at) + '</td><td>' + esc(n.event) + '</td><td>' + esc(n.method) + ' ' + esc(n.url) + '</td><td>' + esc(n.status) + '</td></tr>').join('') || '<tr><td colspan="4" class="muted">Не настроены или ещё не отправлялись</td></tr>';
  $('p-inter').innerHTML = st.interactive.map((n) => '<tr><td>' + esc(n.at) + '</td><td>' + esc(n.url) + '</td><td>' + esc(n.status) + '</td><td>' + esc(n.outcome) + '</td><td>' + esc(n.answer) + '</td></tr>').join('') || '<tr><td colspan="5" class="muted">Запросов не было</td></tr>';
}
async function poll() {
  const r = await fetch('/pbx/api/state?account=' + cfg.account);
  if (r.ok) render(await r.json());
}
document.addEventListener('click', (ev) => {
  const b = ev.target.closest('button[data-act]');
  if (!b) return;
  const body = { call: Number(b.dataset.call), act: b.dataset.act };
  if (b.dataset.leg) body.leg = Number(b.dataset.leg);
  if (b.dataset.by) body.by = b.dataset.by;
  if (b.dataset.act === 'transfer') body.employeeId = Number($('tr-' + b.dataset.call).value);
  post('/pbx/api/action', body);
});
$('p-in').addEventListener('submit', (ev) => { ev.preventDefault(); post('/pbx/api/incoming', { from: $('p-from').value, to: $('p-to').value, dtmf: $('p-dtmf').value || undefined }); });
$('p-out').addEventListener('submit', (ev) => { ev.preventDefault(); post('/pbx/api/outgoing', { employeeId: Number($('p-emp').value), to: $('p-client').value }); });
$('p-iurl-form').addEventListener('submit', (ev) => { ev.preventDefault(); post('/pbx/api/interactive', { url: $('p-iurl').value.trim() }); });
poll();
setInterval(poll, 1000);
`;

function stateJson(pbx: Pbx) {
  const off = pbx.account.utcOffsetMin;
  return {
    calls: [...pbx.sessions].reverse().slice(0, 30).map((s) => ({
      id: s.id,
      state: s.state,
      direction: s.direction,
      source: s.source,
      contact: s.contactNumber,
      virtualNumber: s.virtualNumber,
      externalId: s.externalId,
      finishReason: s.finishReason,
      talkSeconds: s.talkSeconds,
      legs: s.legs.map((l) => ({ id: l.id, party: l.party, state: l.state, called: l.called, employeeId: l.employeeId, employee: pbx.fullName(l.employeeId), isTransfered: l.isTransfered, finishReason: l.finishReason })),
    })),
    notifications: [...pbx.notifications.sent].reverse().slice(0, 40).map((n) => ({ at: dataApiDateTime(n.sentAt, off), event: EVENT_TYPES[n.eventType], method: n.method, url: n.url, status: n.status })),
    interactive: [...pbx.interactiveLog].reverse().slice(0, 20).map((n) => ({ at: dataApiDateTime(n.at, off), url: n.url, status: n.status, outcome: n.outcome, answer: n.answer ? JSON.stringify(n.answer) : '' })),
  };
}

function interactiveOf(pbx: Pbx): ReturnType<Pbx['interactiveOperation']> | undefined {
  try {
    return pbx.interactiveOperation();
  } catch {
    return undefined;
  }
}

export function pbxPageRouter(world: World): express.Router {
  const router = express.Router();

  router.get('/pbx', (req, res) => {
    const account = pickAccount(world, req.query.account);
    if (!account) return sendHtml(res, page('ВАТС', '<div class="notice err">Нет такого аккаунта</div>'), 404);
    const pbx = pbxOf(account);
    const numbers = pbx.virtualNumbers.map((v) => `<option value="${esc(v.number)}">+${esc(v.number)} — ${esc(v.name)}</option>`).join('');
    const employees = account.employees.map((e) => `<option value="${e.id}">${esc(e.full_name)}</option>`).join('');
    const interactive = interactiveOf(pbx);
    const interactiveScenario = interactive ? pbx.scenarios.find((sc) => sc.operations.includes(interactive))?.name : undefined;
    const body = `
<div id="p-error" class="notice err" hidden></div>
<div class="grid">
  <section>
    <form id="p-in" class="panel" style="margin-bottom:12px">
      <h2>Позвонить как клиент</h2>
      <label for="p-from">Номер клиента</label><input id="p-from" data-testid="pbx-from" value="79161234567">
      <label for="p-to">Виртуальный номер</label><select id="p-to" data-testid="pbx-to">${numbers}</select>
      <label for="p-dtmf">Нажатые цифры (меню)</label><input id="p-dtmf" data-testid="pbx-dtmf" placeholder="1">
      <p><button type="submit" data-testid="pbx-call-in">Позвонить</button></p>
    </form>
    <form id="p-out" class="panel">
      <h2>Сотрудник звонит клиенту</h2>
      <label for="p-emp">Сотрудник</label><select id="p-emp" data-testid="pbx-employee">${employees}</select>
      <label for="p-client">Номер клиента</label><input id="p-client" data-testid="pbx-client" value="79161234567">
      <p><button type="submit" data-testid="pbx-call-out">Позвонить</button></p>
    </form>
  </section>
  <section>
    <h2>Звонки</h2>
    <div id="p-calls" data-testid="pbx-calls"></div>
  </section>
</div>
<section class="panel" style="margin-top:14px"><h2>Уведомления (HTTP)</h2>
<table><thead><tr><th>Время</th><th>Событие</th><th>Запрос</th><th>Ответ</th></tr></thead><tbody id="p-notes"></tbody></table></section>
<section class="panel" style="margin-top:14px"><h2>Интерактивная обработка вызова</h2>
<form id="p-iurl-form" style="margin-bottom:10px">
<label for="p-iurl">URL операции «${esc(interactive?.name ?? '')}» (сценарий «${esc(interactiveScenario ?? '')}»), POST, параметры cdr_id, start_time, input_result, numa, numb, call_session_id, ожидание ${interactive ? interactive.timeoutMs / 1000 : 0} с</label>
<input id="p-iurl" data-testid="pbx-interactive-url" value="${esc(interactive?.url ?? '')}" placeholder="https://…/uis/manager/…">
<p><button type="submit" data-testid="pbx-interactive-save">Сохранить</button></p></form>
<table><thead><tr><th>Время</th><th>URL</th><th>Ответ</th><th>Итог</th><th>Инструкция</th></tr></thead><tbody id="p-inter"></tbody></table></section>`;
    const cfg = { account: account.appId, employees: account.employees.map((e) => ({ id: e.id, name: e.full_name })) };
    sendHtml(res, page('Виртуальная АТС', body, { account, script: `window.__pbx = ${inlineJson(cfg)};${SCRIPT}` }));
  });

  router.get('/pbx/api/state', (req, res) => {
    const account = pickAccount(world, req.query.account);
    if (!account) return void res.status(404).json({ error: 'Нет такого аккаунта' });
    res.setHeader('Cache-Control', 'no-store');
    res.json(stateJson(pbxOf(account)));
  });

  router.post('/pbx/api/incoming', express.json(), async (req, res) => {
    const b = (req.body ?? {}) as { account?: number; from?: string; to?: string; dtmf?: string };
    const account = pickAccount(world, b.account);
    if (!account) return void res.status(404).json({ error: 'Нет такого аккаунта' });
    try {
      const call = await pbxOf(account).incoming({ from: String(b.from ?? ''), to: String(b.to ?? ''), dtmf: b.dtmf ? String(b.dtmf) : undefined });
      res.json({ callSessionId: call.id });
    } catch (e) {
      res.status(400).json({ error: e instanceof Error ? e.message : String(e) });
    }
  });

  router.post('/pbx/api/outgoing', express.json(), (req, res) => {
    const b = (req.body ?? {}) as { account?: number; employeeId?: number; to?: string };
    const account = pickAccount(world, b.account);
    if (!account) return void res.status(404).json({ error: 'Нет такого аккаунта' });
    try {
      const call = pbxOf(account).outgoing({ employeeId: Number(b.employeeId), to: String(b.to ?? '') });
      res.json({ callSessionId: call.id });
    } catch (e) {
      res.status(400).json({ error: e instanceof Error ? e.message : String(e) });
    }
  });

  /** The interactive operation's URL, as an admin sets it in the UIS scenario ('' = not configured). */
  router.post('/pbx/api/interactive', express.json(), (req, res) => {
    const b = (req.body ?? {}) as { account?: number; url?: unknown };
    const account = pickAccount(world, b.account);
    if (!account) return void res.status(404).json({ error: 'Нет такого аккаунта' });
    const url = typeof b.url === 'string' ? b.url.trim() : '';
    if (url !== '' && !/^https?:\/\/\S+$/.test(url)) return void res.status(400).json({ error: 'Адрес должен начинаться с http:// или https://' });
    const op = interactiveOf(pbxOf(account));
    if (!op) return void res.status(400).json({ error: 'В сценариях нет операции интерактивной обработки' });
    op.url = url;
    res.json({ ok: true, url });
  });

  router.post('/pbx/api/action', express.json(), (req, res) => {
    const b = (req.body ?? {}) as { account?: number; call?: number; act?: string; leg?: number; by?: string; employeeId?: number };
    const account = pickAccount(world, b.account);
    if (!account) return void res.status(404).json({ error: 'Нет такого аккаунта' });
    try {
      const pbx = pbxOf(account);
      const call = pbx.call(Number(b.call));
      const leg = call.session.legs.find((l) => l.id === b.leg);
      const who: Who | undefined = leg ? (leg.employeeId ?? (leg.party === 'contact' ? 'contact' : { phone: leg.called })) : undefined;
      switch (b.act) {
        case 'answer':
          call.answer(who);
          break;
        case 'busy':
          call.busy(who);
          break;
        case 'noAnswer':
          call.noAnswer(who);
          break;
        case 'abandon':
          call.abandon();
          break;
        case 'hangup':
          call.hangup(b.by === 'employee' ? 'employee' : 'contact');
          break;
        case 'transfer':
          call.transfer(Number(b.employeeId));
          break;
        default:
          return void res.status(400).json({ error: 'Неизвестное действие' });
      }
      res.json({ ok: true });
    } catch (e) {
      res.status(400).json({ error: e instanceof Error ? e.message : String(e) });
    }
  });

  return router;
}
