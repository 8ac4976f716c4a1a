/**
 * The open-line CRM tracker (imopenlines/lib/crm.php, session.php, tracker.php; docs/facts/bitrix24.md#openlines-chats,
 * docs/facts/uis.md#identity, docs/facts/uis.md#duplicates):
 * - session start on a CRM=Y line (not for CHAT_GROUP connectors): search the CRM by the chat's
 *   `imol|<USER_CODE>`, the chat user's LINK, the phone (unless invalid and not
 *   skip_phone_validate) and the e-mail. Exactly one open lead found → the session is bound to
 *   it; none or two and more → CRM_CREATE decides (lead: a new lead, bound to the one matching
 *   contact if there is exactly one; deal: contact + deal; none: bind what was found).
 *   Livechat sessions only search here (Session::createSession setSkipCreate for livechat);
 * - message tracker (CRM_CHAT_TRACKER=Y): phones/e-mails found in a message text are added to
 *   the bound entity, or start the search-and-create above — livechat leads appear this way;
 *   `disable_crm=Y` on send.messages turns exactly this off (extra.disable_tracker), not the
 *   session-start lead.
 * New leads: SOURCE_ID `"<line>|<TYPE>"` (auto-added to SOURCE, sort 115) unless the line names a
 * valid source, TITLE = chat title, NAME/LAST_NAME, PHONE/EMAIL WORK, WEB HOME, IM
 * `imol|<USER_CODE>` (VALUE_TYPE IMOL for custom connectors), LINK USER. Changes are automation:
 * their ONCRM* events carry auth without tokens (docs/facts/bitrix24.md#crm-events).
 */
import type { CrmEntity, EntityType } from '../crm/types';
import { normalizePhone } from '../crm/store';
import type { Params } from '../php';
import type { PortalCore } from '../types';
import { communicationType, connectorTitle, sourceType, systemMessage } from './chat';
import type { ChatUser, OlChat, OlSession } from './types';

const AUTOMATION = 0;

export function validPhone(phone: string): boolean {
  const d = phone.replace(/\D+/g, '');
  return /^\+?[\d\s\-().]+$/.test(phone.trim()) && d.length >= 10 && d.length <= 15;
}

export function phonesInText(text: string): string[] {
  const found = text.match(/\+?\d[\d\s\-().]{8,}\d/g) ?? [];
  return found.map((s) => s.trim()).filter(validPhone);
}

export function emailsInText(text: string): string[] {
  return text.match(/[\w.+-]+@[\w-]+(?:\.[\w-]+)+/g) ?? [];
}

interface Criteria {
  code: string;
  userId: number;
  phones: string[];
  emails: string[];
}

function matches(e: CrmEntity, c: Criteria): boolean {
  const phones = c.phones.map(normalizePhone);
  const emails = c.emails.map((x) => x.toLowerCase());
  return e.fm.some(
    (m) =>
      (m.typeId === 'IM' && m.value === `imol|${c.code}`) ||
      (m.typeId === 'LINK' && m.value === String(c.userId)) ||
      (m.typeId === 'PHONE' && phones.includes(normalizePhone(m.value))) ||
      (m.typeId === 'EMAIL' && emails.includes(m.value.toLowerCase())),
  );
}

function userPhones(user: ChatUser | undefined): string[] {
  if (!user?.phone) return [];
  return user.skipPhoneValidate || validPhone(user.phone) ? [user.phone] : [];
}

/** getSourceId: the line's source if valid, else `"<line>|<TYPE>"` created on first use. */
function sourceId(portal: PortalCore, chat: OlChat): string {
  const line = portal.ol.lines.get(chat.lineId);
  const dir = portal.crm.directory;
  if (line && line.crmSource !== 'create' && dir.status('SOURCE', line.crmSource)) return line.crmSource;
  const id = `${chat.lineId}|${sourceType(chat.connector)}`.slice(0, 50);
  dir.addSource(id, `${line?.name ?? 'Открытая линия'} - ${connectorTitle(portal, chat.connector)}`);
  return id;
}

function communications(portal: PortalCore, chat: OlChat, phones: string[], emails: string[]): Params {
  const user = portal.ol.users.get(chat.userId);
  const fm: Params = {
    IM: [{ VALUE: `imol|${chat.userCode}`, VALUE_TYPE: communicationType(chat.connector) }],
    LINK: [{ VALUE: String(chat.userId), VALUE_TYPE: 'USER' }],
  };
  if (phones.length) fm.PHONE = phones.map((v) => ({ VALUE: v, VALUE_TYPE: 'WORK' }));
  if (emails.length) fm.EMAIL = emails.map((v) => ({ VALUE: v, VALUE_TYPE: 'WORK' }));
  if (user?.url) fm.WEB = [{ VALUE: user.url, VALUE_TYPE: 'HOME' }];
  return fm;
}

function person(portal: PortalCore, chat: OlChat): Params {
  const user = portal.ol.users.get(chat.userId);
  const out: Params = {};
  if (user?.name && user.name !== 'Гость') out.NAME = user.name;
  if (user?.lastName) out.LAST_NAME = user.lastName;
  return out;
}

/** Adds the session's communications to an entity found or bound earlier (Crm::updateEntity). */
function enrich(portal: PortalCore, e: CrmEntity, chat: OlChat, phones: string[], emails: string[]): void {
  const crm = portal.crm;
  let changed = false;
  if (e.type !== 'DEAL') {
    changed = crm.addMultifield(e, 'IM', communicationType(chat.connector), `imol|${chat.userCode}`) || changed;
    changed = crm.addMultifield(e, 'LINK', 'USER', String(chat.userId)) || changed;
    for (const p of phones) changed = crm.addMultifield(e, 'PHONE', 'WORK', p) || changed;
    for (const m of emails) changed = crm.addMultifield(e, 'EMAIL', 'WORK', m) || changed;
  }
  if (changed) {
    e.fields.DATE_MODIFY = crm.now();
    portal.emit(`ONCRM${e.type}UPDATE`, { FIELDS: { ID: e.id } }, AUTOMATION);
  }
}

function bind(portal: PortalCore, chat: OlChat, s: OlSession, type: EntityType, e: CrmEntity, created: boolean): void {
  s.crm[type] = e.id;
  if (!s.primary || type === 'LEAD' || type === 'DEAL') s.primary = { type, id: e.id };
  if (type === 'LEAD' || type === 'DEAL') {
    if (e.fields.CONTACT_ID) s.crm.CONTACT = Number(e.fields.CONTACT_ID);
    if (e.fields.COMPANY_ID) s.crm.COMPANY = Number(e.fields.COMPANY_ID);
  }
  const names: Record<EntityType, string> = { LEAD: 'Лид', DEAL: 'Сделка', CONTACT: 'Контакт', COMPANY: 'Компания' };
  const title = e.fields.TITLE ?? `${e.fields.NAME ?? ''} ${e.fields.LAST_NAME ?? ''}`.trim();
  systemMessage(portal, chat, `[B]${names[type]} ${created ? 'создан(а)' : 'найден(а)'}:[/B] [URL=/crm/${type.toLowerCase()}/details/${e.id}/]${title}[/URL]`, {
    CLASS: 'bx-messenger-content-item-ol-crm',
  });
}

function registerActivity(portal: PortalCore, chat: OlChat, s: OlSession): void {
  if (s.activityId || !s.primary) return;
  const a = portal.crm.addActivity(
    {
      ownerType: s.primary.type,
      ownerId: s.primary.id,
      providerId: 'IMOPENLINES_SESSION',
      subject: `${chat.title} — ${connectorTitle(portal, chat.connector)}`,
      description: '',
      deadline: portal.crm.now(),
      responsibleId: s.operatorId,
      authorId: s.operatorId,
      completed: 'N',
      originId: `IMOL_${s.id}`,
      associatedEntityId: s.id,
    },
    AUTOMATION,
  );
  s.activityId = a.id;
}

/** Crm::registrationChanges. `mayCreate` false = search and bind only. */
export function registerChanges(portal: PortalCore, chat: OlChat, s: OlSession, extraPhones: string[], extraEmails: string[], mayCreate: boolean): void {
  const line = portal.ol.lines.get(s.lineId);
  if (!line || line.crm !== 'Y') return;
  const crm = portal.crm;
  const user = portal.ol.users.get(chat.userId);
  const phones = [...new Set([...userPhones(user), ...extraPhones])];
  const emails = [...new Set([...(user?.email ? [user.email] : []), ...extraEmails])];

  if (s.primary) {
    for (const type of ['LEAD', 'DEAL', 'CONTACT', 'COMPANY'] as const) {
      const e = s.crm[type] ? crm.get(type, s.crm[type]) : undefined;
      if (e && type !== 'DEAL') enrich(portal, e, chat, phones, emails);
    }
    return;
  }

  const criteria: Criteria = { code: chat.userCode, userId: chat.userId, phones, emails };
  const leads = crm.all('LEAD').filter((e) => e.fields.STATUS_SEMANTIC_ID === 'P' && matches(e, criteria));
  const contacts = crm.all('CONTACT').filter((e) => matches(e, criteria));
  const contact = contacts.length === 1 ? contacts[0] : undefined;
  const lead = leads.length === 1 ? leads[0] : undefined;

  if (lead) {
    enrich(portal, lead, chat, phones, emails);
    bind(portal, chat, s, 'LEAD', lead, false);
  } else if (!mayCreate || line.crmCreate === 'none') {
    if (contact) bind(portal, chat, s, 'CONTACT', contact, false);
  } else {
    const base: Params = {
      SOURCE_ID: sourceId(portal, chat),
      ASSIGNED_BY_ID: s.operatorId,
      OPENED: 'Y',
      ...communications(portal, chat, phones, emails),
    };
    if (line.crmCreate === 'lead') {
      const input: Params = { ...base, TITLE: chat.title, ...person(portal, chat) };
      if (contact) input.CONTACT_ID = contact.id;
      const created = crm.add('LEAD', input, null, AUTOMATION);
      bind(portal, chat, s, 'LEAD', created, true);
    } else {
      const c = contact ?? crm.add('CONTACT', { ...base, ...person(portal, chat), NAME: person(portal, chat).NAME ?? chat.title }, null, AUTOMATION);
      if (contact) enrich(portal, contact, chat, phones, emails);
      s.crm.CONTACT = c.id;
      const deal = crm.add('DEAL', { TITLE: chat.title, SOURCE_ID: base.SOURCE_ID, ASSIGNED_BY_ID: s.operatorId, CONTACT_ID: c.id, OPENED: 'Y' }, null, AUTOMATION);
      bind(portal, chat, s, 'DEAL', deal, true);
    }
  }
  registerActivity(portal, chat, s);
}

/** Tracker::trackMessage: contact details in an inbound text. */
export function trackMessage(portal: PortalCore, chat: OlChat, s: OlSession, text: string): void {
  const line = portal.ol.lines.get(s.lineId);
  if (!line || line.crm !== 'Y' || line.crmChatTracker !== 'Y' || s.extra.disable_tracker === 'Y') return;
  const phones = phonesInText(text);
  const emails = emailsInText(text);
  if (phones.length === 0 && emails.length === 0) return;
  registerChanges(portal, chat, s, phones, emails, true);
}
