/**
 * The portal chrome a person (or a headless browser) clicks through, served on the portal origin
 * so postMessage origin and REST host are one (docs/facts/bitrix24-frame.md#target-origin, docs/facts/bitrix24-frame.md#host-page):
 *   /                         home, app status, install button
 *   /marketplace/app/         the app: install page while not installed (admins), main page after
 *                             (`?install=1` begins the install; `?user=1|2` switches user, kept in a cookie)
 *   /marketplace/placement/N/ a LEFT_MENU item
 *   /crm/{lead,deal,contact,company}/        CRM lists (host-crm.ts), filtered by the user's rights
 *   /crm/{lead,deal,contact,company}/details/N/   card: "Общие" (fields, timeline) + CRM_*_DETAIL_TAB tabs
 *   /online/operator/         open-line chats for operators; /online/?line=1 the site widget (host-openlines.ts)
 *   /contact_center/          tiles; our connectors open their SETTING_CONNECTOR page
 *   POST /_emu/layout         the ajax the parent script uses (app.layout lazyload.ajax.php analogue)
 */
import { readFileSync } from 'node:fs';
import express from 'express';
import { BUILTIN_CONNECTORS } from './catalog';
import { CRM_PAGES, CRM_TITLES, crmGeneral, crmList, type CrmPage } from './host-crm';
import { openLinesRouter } from './host-openlines';
import { telephonyRouter } from './telephony/host';
import { connectorIcon, crmCard, esc, frameBlock, layout, tile } from './host-views';
import { connectorPlacementOptions } from './methods/imconnector';
import { isRecord, type Params } from './php';
import type { PortalImpl } from './portal';
import type { OpenAppOptions } from './index';
import type { User } from './types';

const asset = (name: string): string => readFileSync(new URL(`./${name}`, import.meta.url), 'utf8');
const CLIENT_JS = asset('host-page.client.js');
const CSS = asset('host-page.css');
const USER_COOKIE = 'EMU_USER';

function cookie(req: express.Request, name: string): string | undefined {
  for (const part of String(req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return decodeURIComponent(v.join('='));
  }
  return undefined;
}

function queryString(req: express.Request, key: string): string | undefined {
  const v = new URL(req.originalUrl, 'http://x').searchParams.get(key);
  return v === null ? undefined : v;
}

export function hostPageRouter(portal: PortalImpl): express.Router {
  const router = express.Router();

  const currentUser = (req: express.Request, res: express.Response): User => {
    const asked = Number(queryString(req, 'user'));
    if (portal.users.has(asked)) {
      res.setHeader('Set-Cookie', `${USER_COOKIE}=${asked}; Path=/; SameSite=Lax`);
      return portal.users.get(asked) as User;
    }
    const remembered = Number(cookie(req, USER_COOKIE));
    return portal.users.get(remembered) ?? (portal.users.get(portal.adminUserId) as User);
  };

  const html = (res: express.Response, status: number, body: string): void => {
    res.status(status).type('text/html; charset=utf-8').setHeader('Cache-Control', 'no-store').send(body);
  };

  /** Opens the app for `user` and renders the frame block, or a portal-style notice. */
  const frame = (user: User, o: OpenAppOptions): string => {
    try {
      const launch = portal.openApp({ ...o, userId: user.id });
      const session = portal.frames.get(launch.appSid);
      if (!session) throw new Error('frame session lost');
      return frameBlock(portal, session, launch);
    } catch (err) {
      const message = err instanceof Error ? err.message.replace(/^bitrix emulator: /, '') : String(err);
      return `<div class="notice is-error">Не удалось открыть приложение: ${esc(message)}</div>`;
    }
  };

  /** openApplication's params as the slider frame's PLACEMENT_OPTIONS (slider settings bx24_* stay with the slider). */
  const sliderOptions = (raw: string | undefined): Record<string, unknown> => {
    try {
      const o = JSON.parse(raw ?? '{}') as unknown;
      if (!o || typeof o !== 'object' || Array.isArray(o)) return {};
      return Object.fromEntries(Object.entries(o).filter(([k]) => !k.startsWith('bx24_') && k !== 'isSafely'));
    } catch {
      return {};
    }
  };

  router.get('/_emu/host-page.client.js', (_req, res) => {
    res.type('application/javascript; charset=utf-8').setHeader('Cache-Control', 'no-store').send(CLIENT_JS);
  });
  router.get('/_emu/host-page.css', (_req, res) => {
    res.type('text/css; charset=utf-8').setHeader('Cache-Control', 'no-store').send(CSS);
  });
  router.get('/_emu/state', (_req, res) => {
    res.json({ memberId: portal.memberId, ...portal.state(), deliveries: portal.deliveries });
  });

  router.get('/', (req, res) => {
    const user = currentUser(req, res);
    const install = portal.install;
    const status = !install ? 'не установлено' : install.installed ? 'установлено' : 'установка не завершена';
    const action = !install?.installed
      ? user.admin
        ? `<a class="button" id="install-app" href="/marketplace/app/?install=1">Установить приложение</a>`
        : `<p class="muted">Установить приложение может только администратор.</p>`
      : `<a class="button" href="/marketplace/app/">Открыть приложение</a>`;
    const rows = portal.state();
    const list = (items: string[]) => (items.length ? `<ul>${items.map((i) => `<li>${i}</li>`).join('')}</ul>` : '<p class="muted">нет</p>');
    const body = `<section class="card">
  <h2>${esc(portal.shared.app.name)}</h2>
  <p>Статус: <b id="app-status">${esc(status)}</b> · member_id <code>${esc(portal.memberId)}</code></p>
  ${action}
</section>
<section class="card grid2">
  <div><h3>Встройки</h3>${list(rows.placements.map((p) => `<code>${esc(p.placement)}</code> ${esc(p.title)} → <small>${esc(p.handler)}</small>`))}</div>
  <div><h3>Обработчики событий</h3>${list(rows.events.map((e) => `<code>${esc(e.event)}</code> ${e.offline ? '(offline)' : `→ <small>${esc(e.handler)}</small>`}`))}</div>
</section>`;
    html(res, 200, layout(portal, user, { title: 'Главная', active: 'home', body }));
  });

  // `slider=Y`: the app opened by openApplication (docs/facts/bitrix24-frame.md#frame-commands: slider.openSliderAppPage),
  // the caller's params without bx24_* as its PLACEMENT_OPTIONS (`options`, JSON)
  router.get(['/marketplace/app', '/marketplace/app/'], (req, res) => {
    const user = currentUser(req, res);
    const slider = queryString(req, 'slider') === 'Y';
    if (queryString(req, 'install') === '1' && user.admin && !portal.install?.installed) portal.beginInstall();
    const install = portal.install;
    let body: string;
    if (!install) {
      body = user.admin
        ? `<div class="card"><p>Приложение «${esc(portal.shared.app.name)}» ещё не установлено на портал.</p>
<a class="button" id="install-app" href="/marketplace/app/?install=1">Установить приложение</a></div>`
        : `<div class="card"><p>Приложение не установлено. Обратитесь к администратору портала.</p></div>`;
    } else if (!install.installed && !user.admin) {
      body = `<div class="card"><p id="not-installed">Приложение установлено не полностью. Обратитесь к администратору портала.</p></div>`;
    } else {
      body = frame(user, slider ? { placementOptions: sliderOptions(queryString(req, 'options')) } : {});
    }
    const notice = queryString(req, 'install_finished') === 'Y' && install?.installed ? 'Приложение установлено.' : undefined;
    html(res, 200, layout(portal, user, { title: portal.shared.app.name, active: 'app', body, notice, slider }));
  });

  router.get('/marketplace/placement/:id/', (req, res) => {
    const user = currentUser(req, res);
    const id = Number(req.params.id);
    const row = portal.install?.installed ? portal.placements.find((r) => r.id === id) : undefined;
    if (!row) return html(res, 404, layout(portal, user, { title: 'Страница не найдена', active: '', body: '<p>Встройка не найдена.</p>' }));
    const body = frame(user, { placement: row.placement, handlerUrl: row.handler, placementOptions: portal.defaultPlacementOptions(row) });
    html(res, 200, layout(portal, user, { title: portal.placementTitle(row, 'ru'), active: `placement-${row.id}`, body }));
  });

  router.get('/crm/:entity/', (req, res) => {
    const user = currentUser(req, res);
    const entity = String(req.params.entity);
    if (!(entity in CRM_PAGES)) return html(res, 404, layout(portal, user, { title: 'Страница не найдена', active: '', body: '' }));
    const page = entity as CrmPage;
    html(res, 200, layout(portal, user, { title: CRM_TITLES[page][0], active: page, body: crmList(portal, user, page) }));
  });

  router.get('/crm/:entity/details/:id/', (req, res) => {
    const user = currentUser(req, res);
    const entity = String(req.params.entity);
    if (!(entity in CRM_PAGES)) {
      return html(res, 404, layout(portal, user, { title: 'Страница не найдена', active: '', body: '' }));
    }
    const page = entity as CrmPage;
    const id = String(req.params.id);
    const placement = `CRM_${entity.toUpperCase()}_DETAIL_TAB`;
    const tabs = portal.visiblePlacements(placement);
    const tabId = Number(queryString(req, 'tab'));
    const active = tabs.find((t) => t.id === tabId) ?? null;
    const tabBody = active
      ? frame(user, {
          placement,
          handlerUrl: active.handler,
          placementOptions: { ID: id, URI: `/crm/${entity}/details/${id}/` },
        })
      : '';
    const general = crmGeneral(portal, user, page, Number(id));
    const body = crmCard(portal, entity, id, tabs, active ? active.id : null, tabBody, general);
    html(res, 200, layout(portal, user, { title: `${CRM_TITLES[page][1]} #${id}`, active: entity, body }));
  });

  router.get('/contact_center/', (req, res) => {
    const user = currentUser(req, res);
    const installed = portal.install?.installed ?? false;
    const builtins = Object.entries(BUILTIN_CONNECTORS).map(([id, name]) =>
      tile(null, name, `<span class="dot"></span>`, 'встроенный канал', ` data-connector="${esc(id)}"`),
    );
    const ours = installed
      ? [...portal.connectors.values()].map((c) =>
          tile(
            `/contact_center/connector/?ID=${encodeURIComponent(c.id)}&LINE=1`,
            c.name,
            connectorIcon(c.icon),
            portal.lines.get(`${c.id}|1`)?.active ? 'подключён' : 'не подключён',
            ` data-connector="${esc(c.id)}"`,
          ),
        )
      : [];
    const partner = portal
      .visiblePlacements('CONTACT_CENTER')
      .map((r) => tile(`/contact_center/app/${r.id}/`, portal.placementTitle(r, 'ru'), '<span class="dot"></span>', 'решение партнёра', ' data-placement="CONTACT_CENTER"'));
    const callback = tile('/contact_center/callback/', 'Обратная форма', '<span class="dot"></span>', 'обратный звонок', ' data-tile="callback"');
    const body = `<section class="card"><h3>Каналы</h3><div class="tiles">${[...builtins, ...ours, callback].join('')}</div></section>
${partner.length ? `<section class="card"><h3>Решения партнёров</h3><div class="tiles">${partner.join('')}</div></section>` : ''}`;
    html(res, 200, layout(portal, user, { title: 'Контакт-центр', active: 'contact_center', body }));
  });

  router.get('/contact_center/connector/', (req, res) => {
    const user = currentUser(req, res);
    const id = (queryString(req, 'ID') ?? '').toLowerCase();
    const line = Number(queryString(req, 'LINE') ?? '1') || 1;
    const connector = portal.install?.installed ? portal.connectors.get(id) : undefined;
    const placementRow = connector ? portal.placements.find((r) => r.id === connector.placementId) : undefined;
    const body =
      connector && placementRow
        ? `<p class="muted">Открытая линия ${line}</p>` +
          frame(user, {
            placement: 'SETTING_CONNECTOR',
            handlerUrl: placementRow.handler,
            placementOptions: connectorPlacementOptions(portal.lines, connector.id, line),
          })
        : `<div class="notice is-error">Коннектор не найден или его страница настроек недоступна.</div>`;
    html(res, 200, layout(portal, user, { title: connector ? connector.name : 'Коннектор', active: 'contact_center', body }));
  });

  router.get('/contact_center/app/:id/', (req, res) => {
    const user = currentUser(req, res);
    const row = portal.visiblePlacements('CONTACT_CENTER').find((r) => r.id === Number(req.params.id));
    const body = row
      ? frame(user, { placement: 'CONTACT_CENTER', handlerUrl: row.handler, placementOptions: { ID: String(row.id), URI: '/contact_center/' } })
      : `<div class="notice is-error">Встройка не найдена.</div>`;
    html(res, row ? 200 : 404, layout(portal, user, { title: row ? portal.placementTitle(row, 'ru') : 'Контакт-центр', active: 'contact_center', body }));
  });

  router.use(openLinesRouter(portal, currentUser, html));
  router.use(telephonyRouter(portal, currentUser, html));

  router.post('/_emu/layout', express.json({ limit: '1mb' }), async (req, res) => {
    const p: Params = isRecord(req.body) ? (req.body as Params) : {};
    const session = portal.frames.get(String(p.sid ?? ''));
    const install = portal.install;
    if (!session || !install) return void res.status(404).json({ error: 'FRAME_NOT_FOUND' });
    const user = portal.users.get(session.userId);
    switch (p.action) {
      case 'access_refresh': {
        const f = portal.refreshFrame(session.sid);
        if (!f) return void res.status(404).json({ error: 'FRAME_NOT_FOUND' });
        return void res.json({ access_token: f.accessToken, refresh_token: f.refreshToken, expires_in: f.expiresIn });
      }
      case 'set_installed': {
        if (!user?.admin) return void res.status(403).json({ result: false });
        if (p.v === 'N') install.installed = false;
        else await portal.finishInstall();
        return void res.json({ result: true });
      }
      case 'set_install': {
        if (p.install) install.setInstallSeen.add(session.userId);
        return void res.json({ result: true });
      }
      case 'set_option': {
        if (!user?.admin) return void res.status(403).json({ result: false });
        for (const o of Array.isArray(p.options) ? p.options : []) {
          if (isRecord(o) && typeof o.name === 'string') install.appOptions[o.name] = o.value;
        }
        return void res.json({ result: true });
      }
      case 'set_user_option': {
        if (typeof p.name === 'string') {
          install.userOptions.set(session.userId, { ...(install.userOptions.get(session.userId) ?? {}), [p.name]: p.value });
        }
        return void res.json({ result: true });
      }
      default:
        return void res.status(400).json({ error: 'UNKNOWN_ACTION' });
    }
  });

  return router;
}
