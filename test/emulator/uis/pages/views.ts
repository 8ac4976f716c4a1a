/**
 * Shared bits of the emulator's pages: escaping, the page frame, a calm stylesheet, labels.
 * Plain HTML with small inline scripts — no build step, readable in a browser and in Playwright.
 */
import type express from 'express';
import type { AccountImpl } from '../account';
import type { ChannelType, MessageStatus } from '../types';
import type { World } from '../world';

export const esc = (s: unknown): string =>
  String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

/** JSON for an inline <script>: no `</script>` breakouts. */
export const inlineJson = (v: unknown): string => JSON.stringify(v).replace(/</g, '\\u003c');

export const CHANNEL_LABELS: Record<ChannelType, string> = {
  comagic: 'Чат на сайте',
  whatsapp: 'WhatsApp',
  waba: 'WhatsApp Business API',
  telegram: 'Telegram-бот',
  telegram_private: 'Telegram (личный)',
  vkontakte_groups: 'ВКонтакте',
  avito: 'Авито',
  email: 'E-mail',
  sms: 'SMS',
  viber: 'Viber',
  auto_ru: 'Авто.ру',
  realty_yandex: 'Яндекс.Недвижимость',
};

export const STATUS_LABELS: Record<MessageStatus, string> = {
  accepted: 'принято',
  sent: 'отправлено',
  delivered: 'доставлено',
  read: 'прочитано',
  error: 'ошибка',
};

const CSS = `
:root{--bg:#f3f5f8;--panel:#fff;--line:#e2e6ec;--text:#1f2933;--muted:#6b7785;--brand:#1f6feb;--brand-soft:#e8f0fe;--ok:#1a7f37;--err:#c62828;--visitor:#eef1f5;--operator:#dbeafe;--system:#fff8e1}
*{box-sizing:border-box}body{margin:0;font:14px/1.45 -apple-system,"Segoe UI",Roboto,Arial,sans-serif;background:var(--bg);color:var(--text)}
header.top{display:flex;align-items:center;gap:16px;padding:10px 18px;background:#0b2545;color:#fff}
header.top .logo{font-weight:700;letter-spacing:.3px}header.top .logo span{color:#7cc4ff}header.top .muted{color:#b8c4d6}
main{padding:16px 18px}a{color:var(--brand)}h1{font-size:18px;margin:0 0 12px}h2{font-size:15px;margin:0 0 10px}
.grid{display:grid;grid-template-columns:300px 1fr;gap:16px;align-items:start}
.panel{background:var(--panel);border:1px solid var(--line);border-radius:10px;padding:14px}
label{display:block;font-size:12px;color:var(--muted);margin:8px 0 3px}
input,select,textarea{width:100%;padding:7px 9px;border:1px solid var(--line);border-radius:7px;font:inherit;background:#fff}
textarea{resize:vertical;min-height:60px}
button{padding:8px 14px;border:0;border-radius:7px;background:var(--brand);color:#fff;font:inherit;cursor:pointer}
button.secondary{background:#e9edf2;color:var(--text)}button:disabled{opacity:.5;cursor:default}
.row{display:flex;gap:8px;align-items:flex-end}.row>*{flex:1}.row>button{flex:0 0 auto}
.messages{display:flex;flex-direction:column;gap:8px;min-height:260px;max-height:60vh;overflow:auto;padding:6px 2px}
.msg{max-width:72%;padding:8px 11px;border-radius:10px;background:var(--visitor);white-space:pre-wrap;word-wrap:break-word}
.msg.out{align-self:flex-end;background:var(--operator)}.msg.system{align-self:center;background:var(--system);font-size:12px;color:var(--muted)}
.msg .meta{display:block;font-size:11px;color:var(--muted);margin-top:3px}
.msg.st-error .meta{color:var(--err)}
.empty{color:var(--muted);padding:24px;text-align:center}
.notice{padding:8px 12px;border-radius:8px;background:var(--brand-soft);margin-bottom:10px}.notice.err{background:#fdecea;color:var(--err)}
.chats{list-style:none;margin:0;padding:0}.chats li a{display:block;padding:8px 10px;border-radius:8px;text-decoration:none;color:inherit}
.chats li a:hover{background:#f0f3f7}.chats li a.is-open{background:var(--brand-soft)}.chats li a.is-client{border-left:3px solid var(--brand)}
.chats small,.muted{color:var(--muted)}.badge{display:inline-block;font-size:11px;padding:1px 7px;border-radius:10px;background:#e9edf2;color:var(--muted)}
.badge.active{background:#e6f4ea;color:var(--ok)}
table{border-collapse:collapse;width:100%;background:#fff}th,td{border-bottom:1px solid var(--line);padding:7px 9px;text-align:left;vertical-align:top;font-size:13px}
th{background:#f7f9fb;font-weight:600;color:#44505c;position:sticky;top:0}
.client{display:flex;align-items:center;gap:12px;margin-bottom:10px}.client .who{font-size:16px;font-weight:600}
`;

export function page(title: string, body: string, o: { account?: AccountImpl; script?: string } = {}): string {
  return `<!doctype html>
<html lang="ru"><head><meta charset="utf-8">
<title>${esc(title)} — UIS (эмулятор)</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>${CSS}</style>
</head><body>
<header class="top"><span class="logo">UIS<span>·</span>эмулятор</span><span>${esc(title)}</span>
<span class="muted">${o.account ? esc(`${o.account.name} · app_id ${o.account.appId}`) : ''}</span></header>
<main>${body}</main>
${o.script ? `<script>${o.script}</script>` : ''}
</body></html>`;
}

export function sendHtml(res: express.Response, html: string, status = 200): void {
  res.status(status).type('text/html; charset=utf-8').setHeader('Cache-Control', 'no-store');
  res.send(html);
}

/** `?account=<appId>`; the first account when absent. */
export function pickAccount(world: World, raw: unknown): AccountImpl | undefined {
  if (raw === undefined || raw === '') return world.accounts[0];
  return world.account(Number(raw));
}

export function formatPhone(digits: string | null): string {
  return digits ? `+${digits}` : '';
}
