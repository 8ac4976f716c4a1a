/**
 * CRM pages of the portal chrome: lists (`/crm/{lead,deal,contact,company}/`) and the "Общие" tab
 * of a card with fields, communications, open-line chats and the timeline (comments, to-dos,
 * open-line sessions). What a user sees is filtered by the same "own + open" rule as REST.
 */
import { renderBbcode } from './bbcode';
import { FIELDS } from './crm/fields';
import type { Actor } from './crm/store';
import type { CrmActivity, CrmEntity, EntityType } from './crm/types';
import { esc } from './host-views';
import { connectorTitle } from './openlines/chat';
import type { PortalImpl } from './portal';
import type { User } from './types';

export const CRM_PAGES = { lead: 'LEAD', deal: 'DEAL', contact: 'CONTACT', company: 'COMPANY' } as const;
export type CrmPage = keyof typeof CRM_PAGES;

export const CRM_TITLES: Record<CrmPage, [string, string]> = {
  lead: ['Лиды', 'Лид'],
  deal: ['Сделки', 'Сделка'],
  contact: ['Контакты', 'Контакт'],
  company: ['Компании', 'Компания'],
};

const actorOf = (u: User): Actor => ({ id: u.id, admin: u.admin });

function statusName(portal: PortalImpl, entityId: string, statusId: string | null): string {
  if (!statusId) return '';
  return portal.crm.directory.status(entityId, statusId)?.NAME ?? statusId;
}

function displayName(e: CrmEntity): string {
  const person = `${e.fields.NAME ?? ''} ${e.fields.LAST_NAME ?? ''}`.trim();
  return e.fields.TITLE ?? (person || `#${e.id}`);
}

function stage(portal: PortalImpl, e: CrmEntity): string {
  if (e.type === 'LEAD') return statusName(portal, 'STATUS', e.fields.STATUS_ID ?? null);
  if (e.type === 'DEAL') return statusName(portal, portal.crm.directory.stageEntity(Number(e.fields.CATEGORY_ID ?? 0)), e.fields.STAGE_ID ?? null);
  return '';
}

const money = (v: string | null | undefined): string => (v ? `${Number(v).toLocaleString('ru-RU')} ₽` : '');

export function crmList(portal: PortalImpl, user: User, page: CrmPage): string {
  const type = CRM_PAGES[page];
  const rows = portal.crm.visible(actorOf(user), type).reverse();
  const head =
    type === 'DEAL'
      ? ['ID', 'Название', 'Стадия', 'Сумма', 'Источник', 'Ответственный']
      : ['ID', 'Название / имя', 'Стадия', 'Телефон', 'Источник', 'Ответственный'];
  const body = rows
    .map((e) => {
      const phone = e.fm.find((m) => m.typeId === 'PHONE')?.value ?? '';
      const cells = [
        String(e.id),
        `<a href="/crm/${page}/details/${e.id}/">${esc(displayName(e))}</a>`,
        esc(stage(portal, e)),
        type === 'DEAL' ? esc(money(e.fields.OPPORTUNITY)) : esc(phone),
        esc(statusName(portal, 'SOURCE', e.fields.SOURCE_ID ?? null)),
        esc(portal.crm.directory.userName(Number(e.fields.ASSIGNED_BY_ID ?? 0))),
      ];
      return `<tr data-id="${e.id}">${cells.map((c) => `<td>${c}</td>`).join('')}</tr>`;
    })
    .join('');
  const hidden = portal.crm.all(type).length - rows.length;
  return `<section class="card">
  <table class="grid"><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead>
  <tbody>${body || `<tr><td colspan="6" class="muted">Пока пусто</td></tr>`}</tbody></table>
  ${hidden > 0 ? `<p class="muted">Ещё ${hidden} недоступно по правам доступа.</p>` : ''}
</section>`;
}

function fieldRows(portal: PortalImpl, e: CrmEntity): Array<[string, string]> {
  const skip = new Set(['ID', 'HAS_PHONE', 'HAS_EMAIL', 'HAS_IMOL', 'STATUS_SEMANTIC_ID', 'STAGE_SEMANTIC_ID', 'IS_MANUAL_OPPORTUNITY', 'LAST_ACTIVITY_BY', 'MOVED_BY_ID', 'MODIFY_BY_ID']);
  const out: Array<[string, string]> = [];
  for (const d of FIELDS[e.type]) {
    const v = e.fields[d.name];
    if (v === null || v === undefined || v === '' || skip.has(d.name)) continue;
    let shown = v;
    if (d.type === 'user') shown = portal.crm.directory.userName(Number(v));
    else if (d.type === 'datetime') shown = v.slice(0, 16).replace('T', ' ');
    else if (d.type === 'date') shown = v.slice(0, 10);
    else if (d.type === 'char') shown = v === 'Y' ? 'да' : 'нет';
    else if (d.name === 'STATUS_ID' || d.name === 'STAGE_ID') shown = stage(portal, e);
    else if (d.name === 'SOURCE_ID') shown = `${statusName(portal, 'SOURCE', v)} (${v})`;
    else if (d.name === 'OPPORTUNITY') shown = money(v);
    else if (d.type === 'crm_contact' || d.type === 'crm_company') {
      const page = d.type === 'crm_contact' ? 'contact' : 'company';
      const linked = portal.crm.get(d.type === 'crm_contact' ? 'CONTACT' : 'COMPANY', Number(v));
      out.push([d.title, `<a href="/crm/${page}/details/${esc(v)}/">${esc(linked ? displayName(linked) : `#${v}`)}</a>`]);
      continue;
    }
    // COMMENTS «Поддерживает bb-коды» (crm.deal.add, main-entities-fields): shown rendered
    out.push([d.title, d.name === 'COMMENTS' ? renderBbcode(shown) : esc(shown)]);
  }
  for (const [k, v] of Object.entries(e.uf)) if (v !== '' && v !== null) out.push([k, esc(String(v))]);
  const FM: Record<string, string> = { PHONE: 'Телефон', EMAIL: 'E-mail', WEB: 'Сайт', IM: 'Мессенджер', LINK: 'Связь' };
  for (const m of e.fm) {
    // a phone number starts click-to-call (telephony/host.ts, telephony.client.js)
    const value = m.typeId === 'PHONE' ? `<a href="#" class="phone-link" data-testid="crm-phone" data-phone="${esc(m.value)}" data-entity-type="${e.type}" data-entity-id="${e.id}">${esc(m.value)}</a>` : esc(m.value);
    out.push([`${FM[m.typeId] ?? m.typeId} (${m.valueType})`, value]);
  }
  return out;
}

/** A call activity on the timeline: direction, number, duration, state, responsible, the record. */
function callActivityHtml(portal: PortalImpl, a: CrmActivity): string {
  const c = a.call!;
  const state = a.completed === 'Y' ? 'выполнено' : 'не выполнено';
  const duration = `${Math.floor(c.duration / 60)}:${String(c.duration % 60).padStart(2, '0')}`;
  const record = c.fileIds.length ? ` <audio controls preload="none" data-testid="call-record" src="/_emu/telephony/file/${c.fileIds[0]}"></audio>` : '';
  return `<span data-testid="call-activity" data-completed="${a.completed}" data-duration="${c.duration}"><b>Звонок</b> · ${esc(a.subject)} · ${esc(duration)} · ${state}${c.missed ? ' (пропущенный)' : ''} · ${esc(portal.crm.directory.userName(a.responsibleId))}</span>${record}`;
}

/** The "Общие" tab; `null` → the entity does not exist or the user may not see it (the tabs stay). */
export function crmGeneral(portal: PortalImpl, user: User, page: CrmPage, id: number): string {
  const type: EntityType = CRM_PAGES[page];
  const e = portal.crm.get(type, id);
  if (!e) return `<div class="notice is-error" id="crm-not-found">${esc(CRM_TITLES[page][1])} #${id} не найден(а).</div>`;
  if (!portal.crm.canAccess(actorOf(user), e)) return `<div class="notice is-error" id="crm-access-denied">Доступ запрещён.</div>`;
  const fields = fieldRows(portal, e)
    .map(([k, v]) => `<dt>${esc(k)}</dt><dd>${v}</dd>`)
    .join('');
  const chats = [...portal.ol.chats.values()].filter((c) => c.sessionIds.some((sid) => portal.ol.sessions.get(sid)?.crm[type] === id));
  const timeline = [
    ...portal.crm
      .comments()
      .filter((c) => c.entityType === type && c.entityId === id)
      .map((c) => ({ at: c.created, html: `<b>Комментарий</b> · ${esc(portal.crm.directory.userName(c.authorId))}<div class="bb">${renderBbcode(c.comment)}</div>` })),
    ...portal.crm
      .activities()
      .filter((a) => (a.call?.bindings ?? [{ ownerType: a.ownerType, ownerId: a.ownerId }]).some((b) => b.ownerType === type && b.ownerId === id))
      .map((a) => ({
        at: a.created,
        html: a.call
          ? callActivityHtml(portal, a)
          : a.providerId === 'IMOPENLINES_SESSION'
            ? `<b>Открытая линия</b> · сессия №${a.associatedEntityId}${a.completed === 'Y' ? ' (завершена)' : ''}<div>${esc(a.subject)}</div>`
            : `<b>Дело</b> · ${esc(a.subject || 'Без названия')} · срок ${esc(a.deadline.slice(0, 16).replace('T', ' '))} · ${esc(portal.crm.directory.userName(a.responsibleId))}${a.description ? `<div class="bb">${renderBbcode(a.description)}</div>` : ''}`,
      })),
  ].sort((a, b) => (a.at < b.at ? 1 : -1));
  return `<dl class="fields">${fields}</dl>
${chats.length ? `<h3>Чаты открытых линий</h3><ul>${chats.map((c) => `<li><a href="/online/operator/?chat=${c.id}">${esc(c.title)}</a> · ${esc(connectorTitle(portal, c.connector))}</li>`).join('')}</ul>` : ''}
<h3>Таймлайн</h3>
${timeline.length ? `<ul class="timeline">${timeline.map((t) => `<li><small class="muted">${esc(t.at.slice(0, 16).replace('T', ' '))}</small> ${t.html}</li>`).join('')}</ul>` : '<p class="muted">Пока ничего нет</p>'}`;
}
