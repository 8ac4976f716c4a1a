/**
 * HTML of the emulated portal chrome: a Bitrix24-like header and left menu, and the app frame
 * block exactly as app.layout renders it (docs/facts/bitrix24-frame.md#portal-opens-app): the iframe gets
 * `name="DOMAIN|0|APP_SID"` before insertion and a hidden form POSTs the launch fields into it.
 * Plain HTML; the parent side of the postMessage protocol lives in host-page.client.js.
 */
import { phpObject, type Params } from './php';
import type { FrameSession, PlacementRow, User } from './types';
import type { PortalImpl } from './portal';

export const esc = (s: unknown): string =>
  String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

export interface Page {
  title: string;
  active: string;
  body: string;
  notice?: string;
  /** Rendered inside a slider (openApplication): the work area only, no header or left menu. */
  slider?: boolean;
}

function menuLink(href: string, label: string, active: boolean, extra = ''): string {
  return `<a class="menu-item${active ? ' is-active' : ''}" href="${esc(href)}"${extra}>${esc(label)}</a>`;
}

export function layout(portal: PortalImpl, user: User, page: Page): string {
  const installed = portal.install?.installed ?? false;
  const leftMenu = installed
    ? portal.visiblePlacements('LEFT_MENU').map((r) =>
        menuLink(`/marketplace/placement/${r.id}/`, portal.placementTitle(r, 'ru'), page.active === `placement-${r.id}`, ' data-placement="LEFT_MENU"'),
      )
    : [];
  const users = [...portal.users.values()]
    .map(
      (u) =>
        `<a class="user-chip${u.id === user.id ? ' is-current' : ''}" href="?user=${u.id}" data-user="${u.id}">` +
        `${esc(`${u.name} ${u.lastName}`)} <small>${u.admin ? 'администратор' : 'сотрудник'}</small></a>`,
    )
    .join('');
  if (page.slider) {
    return `<!doctype html>
<html lang="ru"><head><meta charset="utf-8">
<title>${esc(page.title)} — Битрикс24 (эмулятор)</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/_emu/host-page.css">
</head><body class="in-slider">
  <main class="workarea">
    <h1 id="pagetitle">${esc(page.title)}</h1>
    ${page.body}
  </main>
<script src="/_emu/host-page.client.js"></script>
</body></html>`;
  }
  return `<!doctype html>
<html lang="ru"><head><meta charset="utf-8">
<title>${esc(page.title)} — Битрикс24 (эмулятор)</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/_emu/host-page.css">
</head><body>
<header class="top">
  <a class="logo" href="/">Битрикс<span>24</span></a>
  <span class="portal-name">Мой портал · ${esc(portal.domain)}</span>
  <span class="spacer"></span>
  <nav class="user-switch" aria-label="Пользователь">${users}</nav>
</header>
<div class="shell">
  <nav class="left-menu" aria-label="Левое меню">
    ${menuLink('/', 'Главная', page.active === 'home')}
    <div class="menu-group">CRM</div>
    ${menuLink('/crm/lead/', 'Лиды', page.active === 'lead')}
    ${menuLink('/crm/deal/', 'Сделки', page.active === 'deal')}
    ${menuLink('/crm/contact/', 'Контакты', page.active === 'contact')}
    ${menuLink('/crm/company/', 'Компании', page.active === 'company')}
    <div class="menu-group">Коммуникации</div>
    ${menuLink('/online/operator/', 'Открытые линии', page.active === 'openlines')}
    ${menuLink('/contact_center/', 'Контакт-центр', page.active === 'contact_center')}
    ${menuLink('/telephony/', 'Телефония', page.active === 'telephony')}
    ${menuLink('/online/?line=1', 'Онлайн-чат на сайте', false, ' target="_blank"')}
    <div class="menu-group">Приложения</div>
    ${menuLink('/marketplace/app/', portal.shared.app.name, page.active === 'app', ' data-app="main"')}
    ${leftMenu.join('\n    ')}
  </nav>
  <main class="workarea">
    ${page.notice ? `<div class="notice">${page.notice}</div>` : ''}
    <h1 id="pagetitle">${esc(page.title)}</h1>
    ${page.body}
  </main>
</div>
<script src="/_emu/host-page.client.js"></script>
<script src="/_emu/telephony.client.js"></script>
</body></html>`;
}

/** The frame block: config for the client script (which creates the iframe and submits the form). */
export function frameBlock(portal: PortalImpl, session: FrameSession, launch: { url: string; form: Record<string, string> }): string {
  const install = portal.install;
  const user = portal.users.get(session.userId);
  const initData: Params = {
    LANG: session.lang,
    DOMAIN: portal.domain,
    PROTOCOL: 0,
    PATH: '/rest',
    AUTH_ID: session.accessToken,
    AUTH_EXPIRES: String(session.expiresIn), // a string, as app.layout renders it (docs/facts/bitrix24-frame.md#init-data)
    REFRESH_ID: session.refreshToken,
    MEMBER_ID: portal.memberId,
    FIRST_RUN: session.firstRun,
    IS_ADMIN: user?.admin ?? false,
    INSTALL: session.install,
    USER_OPTIONS: phpObject(install?.userOptions.get(session.userId) ?? {}),
    APP_OPTIONS: phpObject(install?.appOptions ?? {}),
    PLACEMENT: session.placement,
    PLACEMENT_OPTIONS: session.placementOptions,
  };
  const config = {
    appSid: session.sid,
    frameName: `${portal.domain}|0|${session.sid}`,
    url: launch.url,
    form: launch.form,
    appOrigin: new URL(session.handler).origin,
    isAdmin: user?.admin ?? false,
    placement: session.placement,
    // template.php denyInterface: non-DEFAULT placements may not retitle, scroll or reload the portal
    denied: session.placement === 'DEFAULT' ? [] : ['setTitle', 'setScroll', 'reloadWindow'],
    initData,
  };
  const json = JSON.stringify(config).replace(/</g, '\\u003c');
  return `<div class="app-frame-layout${session.placement === 'DEFAULT' ? ' app-frame-layout-default' : ''}" id="appframe_layout_${esc(session.sid)}" data-app-sid="${esc(session.sid)}">
  <div class="app-loading-msg">Загрузка приложения «${esc(portal.shared.app.name)}»…</div>
</div>
<script type="application/json" id="emu-frame-config">${json}</script>`;
}

/** A CRM card: "Общие" (fields and timeline, from host-crm.ts) plus the CRM_*_DETAIL_TAB tabs. */
export function crmCard(
  portal: PortalImpl,
  entity: string,
  id: string,
  tabs: PlacementRow[],
  activeTab: number | null,
  tabBody: string,
  general: string,
): string {
  const base = `/crm/${entity}/details/${encodeURIComponent(id)}/`;
  const tabLinks = [
    `<a class="tab${activeTab === null ? ' is-active' : ''}" href="${esc(base)}">Общие</a>`,
    ...tabs.map(
      (t) =>
        `<a class="tab${activeTab === t.id ? ' is-active' : ''}" href="${esc(`${base}?tab=${t.id}`)}" data-placement="${esc(t.placement)}">${esc(portal.placementTitle(t, 'ru'))}</a>`,
    ),
  ].join('');
  return `<div class="card"><div class="tabs" role="tablist">${tabLinks}</div><div class="tab-body">${activeTab === null ? general : tabBody}</div></div>`;
}

export function tile(href: string | null, title: string, iconHtml: string, note: string, attrs = ''): string {
  const inner = `<span class="tile-icon">${iconHtml}</span><span class="tile-title">${esc(title)}</span><span class="tile-note">${esc(note)}</span>`;
  return href ? `<a class="tile" href="${esc(href)}"${attrs}>${inner}</a>` : `<span class="tile is-muted"${attrs}>${inner}</span>`;
}

/** A connector icon from ICON.DATA_IMAGE; only data:image URLs are rendered. */
export function connectorIcon(icon: Params): string {
  const src = typeof icon.DATA_IMAGE === 'string' ? icon.DATA_IMAGE : '';
  const color = typeof icon.COLOR === 'string' ? icon.COLOR : '#2fc6f6';
  if (!src.startsWith('data:image/')) return `<span class="dot" style="background:${esc(color)}"></span>`;
  return `<img alt="" src="${esc(src)}" style="background:${esc(color)}">`;
}
