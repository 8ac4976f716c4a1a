/**
 * GET /analytics?account=<appId> — like the cabinet's "Сырые данные → Обращения и цели", limited
 * to what upload.chats put there: one row per uploaded chat (channel `dataapi`), newest first,
 * with its anchors, contact, employee, ext_id and how many uploads carried it. Plus GET
 * / — a small index of the emulator's pages and endpoints.
 */
import express from 'express';
import type { World } from '../world';
import { dataApiDateTime } from '../time';
import { esc, page, pickAccount, sendHtml } from './views';

const STATUS: Record<string, string> = { lost: 'Потерянный', succeed: 'Состоявшийся', refused: 'Отклонённый' };
const INITIATOR: Record<string, string> = { operator: 'Оператор', visitor: 'Посетитель', autoinvite: 'Автоприглашение' };

export function analyticsRouter(world: World): express.Router {
  const router = express.Router();

  router.get('/analytics', (req, res) => {
    const account = pickAccount(world, req.query.account);
    if (!account) return sendHtml(res, page('Обращения и цели', '<div class="notice err">Нет такого аккаунта</div>'), 404);
    const rows = [...account.uploaded].sort((a, b) => b.startedAt - a.startedAt);
    const body = rows.length
      ? `<table data-testid="analytics-table"><thead><tr>
          <th>Дата и время</th><th>ID обращения</th><th>Тип</th><th>Статус</th><th>Инициатор</th><th>Посетитель</th><th>Телефон</th><th>E-mail</th>
          <th>Сайт</th><th>Рекламная кампания</th><th>Источник</th><th>Сессия</th><th>Сотрудник</th><th>Сообщений</th><th>ext_id</th><th>Загрузок</th></tr></thead><tbody>
          ${rows
            .map((u) => {
              const site = account.sites.find((s) => s.id === u.site_id);
              const campaign = account.campaigns.find((c) => c.id === u.campaign_id) ?? account.campaigns.find((c) => c.site_id === u.site_id && c.type === 'system');
              const source = account.sources.find((s) => s.id === u.source_id);
              const employee = account.employee(u.employee_id);
              return `<tr data-testid="analytics-row" data-ext-id="${esc(u.ext_id ?? '')}">
                <td>${esc(u.start_date_time)}</td><td>${u.id}</td><td>Чат (dataapi)</td><td>${esc(STATUS[u.status] ?? u.status)}</td><td>${esc(INITIATOR[u.initiator] ?? u.initiator)}</td>
                <td>${esc(u.name ?? '')}</td><td>${esc(u.phone ?? '')}</td><td>${esc(u.email ?? '')}</td><td>${esc(site?.domain_name ?? '')}</td>
                <td>${esc(campaign?.name ?? '')}</td><td>${esc(source?.name ?? '')}</td><td>${esc(u.visitor_session_id ?? '')}</td><td>${esc(employee?.full_name ?? '')}</td>
                <td>${u.messages.length}</td><td>${esc(u.ext_id ?? '')}</td><td>${u.uploads}</td></tr>`;
            })
            .join('')}
        </tbody></table>`
      : '<div class="panel empty">Через Data API (upload.chats) пока ничего не загружено.</div>';
    sendHtml(
      res,
      page('Сырые данные → Обращения и цели', `<h1>Обращения: загруженные чаты</h1><p class="muted">Обновлено ${esc(dataApiDateTime(world.clock.now()))} (МСК). Всего: ${rows.length}.</p>${body}`, { account }),
    );
  });

  router.get('/favicon.ico', (_req, res) => {
    res.status(204).end();
  });

  router.get('/', (_req, res) => {
    const list = world.accounts
      .map(
        (a) => `<tr><td>${a.appId}</td><td>${esc(a.name)}</td><td>${a.project}</td><td><code>${esc(a.login)}</code> / <code>${esc(a.password)}</code></td>
          <td><a href="/visitor?account=${a.appId}">клиент</a> · <a href="/workspace?account=${a.appId}">РМО</a> · <a href="/analytics?account=${a.appId}">аналитика</a></td></tr>`,
      )
      .join('');
    const o = world.origin;
    sendHtml(
      res,
      page(
        'Обзор',
        `<h1>Эмулятор UIS (CoMagic)</h1>
        <table><thead><tr><th>app_id</th><th>Аккаунт</th><th>Проект</th><th>Логин / пароль</th><th>Страницы</th></tr></thead><tbody>${list}</tbody></table>
        <h2 style="margin-top:16px">Адреса API</h2>
        <ul><li>Вход: <code>${esc(o)}/api/auth/json_rpc?method=login</code></li><li>Management API: <code>${esc(o)}/mgmt/v1/…</code></li>
        <li>Chat API (runtime): <code>${esc(o)}/runtime/v1/adapter/…</code></li><li>Data API: <code>${esc(o)}/dataapi/v2.0</code></li></ul>`,
      ),
    );
  });

  return router;
}
