/**
 * Field catalogue of the legacy CRM entities, in the order crm.*.get returns them (field lists
 * from the crm-lead-get / crm-deal-get / crm-contact-get examples of b24restdocs; docs/facts/bitrix24.md#crm-lead, docs/facts/bitrix24.md#crm-deals-contacts).
 * Types drive filtering and crm.*.fields; `ro` fields are ignored on add/update like
 * CCrmRestProxyBase::internalizeFields does with read-only attributes.
 */
import type { EntityType, MultiFieldType } from './types';

export type FieldType =
  | 'integer'
  | 'double'
  | 'string'
  | 'char'
  | 'date'
  | 'datetime'
  | 'crm_status'
  | 'user'
  | 'crm_currency'
  | 'crm_company'
  | 'crm_contact'
  | 'crm_lead'
  | 'crm_category'
  | 'location'
  | 'file';

export interface FieldDef {
  name: string;
  type: FieldType;
  ro?: boolean;
  /** settable on add only (CATEGORY_ID of a deal) */
  immutable?: boolean;
  required?: boolean;
  statusType?: string;
  title: string;
}

const f = (name: string, type: FieldType, title: string, extra: Partial<FieldDef> = {}): FieldDef => ({ name, type, title, ...extra });
const ro = { ro: true } as const;

const address = (): FieldDef[] => [
  f('ADDRESS', 'string', 'Адрес'),
  f('ADDRESS_2', 'string', 'Адрес (стр. 2)'),
  f('ADDRESS_CITY', 'string', 'Город'),
  f('ADDRESS_POSTAL_CODE', 'string', 'Почтовый индекс'),
  f('ADDRESS_REGION', 'string', 'Район'),
  f('ADDRESS_PROVINCE', 'string', 'Область'),
  f('ADDRESS_COUNTRY', 'string', 'Страна'),
  f('ADDRESS_COUNTRY_CODE', 'string', 'Код страны'),
  f('ADDRESS_LOC_ADDR_ID', 'integer', 'Адрес (служебное)'),
];

const utm = (): FieldDef[] => [
  f('UTM_SOURCE', 'string', 'Рекламная система'),
  f('UTM_MEDIUM', 'string', 'Тип трафика'),
  f('UTM_CAMPAIGN', 'string', 'Обозначение рекламной кампании'),
  f('UTM_CONTENT', 'string', 'Содержание кампании'),
  f('UTM_TERM', 'string', 'Условие поиска кампании'),
];

const LEAD: FieldDef[] = [
  f('ID', 'integer', 'ID', ro),
  f('TITLE', 'string', 'Название лида'),
  f('HONORIFIC', 'crm_status', 'Обращение', { statusType: 'HONORIFIC' }),
  f('NAME', 'string', 'Имя'),
  f('SECOND_NAME', 'string', 'Отчество'),
  f('LAST_NAME', 'string', 'Фамилия'),
  f('COMPANY_TITLE', 'string', 'Название компании'),
  f('COMPANY_ID', 'crm_company', 'Компания'),
  f('CONTACT_ID', 'crm_contact', 'Контакт'),
  f('IS_RETURN_CUSTOMER', 'char', 'Повторный лид', ro),
  f('BIRTHDATE', 'date', 'Дата рождения'),
  f('SOURCE_ID', 'crm_status', 'Источник', { statusType: 'SOURCE' }),
  f('SOURCE_DESCRIPTION', 'string', 'Дополнительно об источнике'),
  f('STATUS_ID', 'crm_status', 'Стадия', { statusType: 'STATUS' }),
  f('STATUS_DESCRIPTION', 'string', 'Дополнительно о стадии'),
  f('POST', 'string', 'Должность'),
  f('COMMENTS', 'string', 'Комментарий'),
  f('CURRENCY_ID', 'crm_currency', 'Валюта'),
  f('OPPORTUNITY', 'double', 'Сумма'),
  f('IS_MANUAL_OPPORTUNITY', 'char', 'Ручной режим суммы'),
  f('HAS_PHONE', 'char', 'Есть телефон', ro),
  f('HAS_EMAIL', 'char', 'Есть e-mail', ro),
  f('HAS_IMOL', 'char', 'Есть открытая линия', ro),
  f('ASSIGNED_BY_ID', 'user', 'Ответственный'),
  f('CREATED_BY_ID', 'user', 'Кем создан', ro),
  f('MODIFY_BY_ID', 'user', 'Кем изменён', ro),
  f('DATE_CREATE', 'datetime', 'Дата создания', ro),
  f('DATE_MODIFY', 'datetime', 'Дата изменения', ro),
  f('DATE_CLOSED', 'datetime', 'Дата закрытия', ro),
  f('STATUS_SEMANTIC_ID', 'string', 'Статус стадии', ro),
  f('OPENED', 'char', 'Доступен для всех'),
  f('ORIGINATOR_ID', 'string', 'Внешний источник'),
  f('ORIGIN_ID', 'string', 'Идентификатор во внешнем источнике'),
  f('MOVED_BY_ID', 'user', 'Кем перемещён', ro),
  f('MOVED_TIME', 'datetime', 'Дата перемещения', ro),
  ...address(),
  ...utm(),
  f('LAST_ACTIVITY_BY', 'user', 'Последняя активность — кто', ro),
  f('LAST_ACTIVITY_TIME', 'datetime', 'Последняя активность', ro),
];

const DEAL: FieldDef[] = [
  f('ID', 'integer', 'ID', ro),
  f('TITLE', 'string', 'Название'),
  f('TYPE_ID', 'crm_status', 'Тип', { statusType: 'DEAL_TYPE' }),
  f('STAGE_ID', 'crm_status', 'Стадия сделки', { statusType: 'DEAL_STAGE' }),
  f('PROBABILITY', 'integer', 'Вероятность'),
  f('CURRENCY_ID', 'crm_currency', 'Валюта'),
  f('OPPORTUNITY', 'double', 'Сумма'),
  f('IS_MANUAL_OPPORTUNITY', 'char', 'Ручной режим суммы'),
  f('TAX_VALUE', 'double', 'Ставка налога'),
  f('LEAD_ID', 'crm_lead', 'Лид', ro),
  f('COMPANY_ID', 'crm_company', 'Компания'),
  f('CONTACT_ID', 'crm_contact', 'Контакт'),
  f('QUOTE_ID', 'integer', 'Предложение', ro),
  f('BEGINDATE', 'date', 'Дата начала'),
  f('CLOSEDATE', 'date', 'Дата завершения'),
  f('ASSIGNED_BY_ID', 'user', 'Ответственный'),
  f('CREATED_BY_ID', 'user', 'Кем создана', ro),
  f('MODIFY_BY_ID', 'user', 'Кем изменена', ro),
  f('DATE_CREATE', 'datetime', 'Дата создания', ro),
  f('DATE_MODIFY', 'datetime', 'Дата изменения', ro),
  f('OPENED', 'char', 'Доступна для всех'),
  f('CLOSED', 'char', 'Закрыта'),
  f('COMMENTS', 'string', 'Комментарий'),
  f('ADDITIONAL_INFO', 'string', 'Дополнительная информация'),
  f('LOCATION_ID', 'location', 'Местоположение'),
  f('CATEGORY_ID', 'crm_category', 'Воронка', { immutable: true }),
  f('STAGE_SEMANTIC_ID', 'string', 'Группа стадии', ro),
  f('IS_NEW', 'char', 'Новая сделка', ro),
  f('IS_RECURRING', 'char', 'Регулярная сделка', ro),
  f('IS_RETURN_CUSTOMER', 'char', 'Повторная сделка', ro),
  f('IS_REPEATED_APPROACH', 'char', 'Повторное обращение', ro),
  f('SOURCE_ID', 'crm_status', 'Источник', { statusType: 'SOURCE' }),
  f('SOURCE_DESCRIPTION', 'string', 'Дополнительно об источнике'),
  f('ORIGINATOR_ID', 'string', 'Внешний источник'),
  f('ORIGIN_ID', 'string', 'Идентификатор во внешнем источнике'),
  f('MOVED_BY_ID', 'user', 'Кем перемещена', ro),
  f('MOVED_TIME', 'datetime', 'Дата перемещения', ro),
  f('LAST_ACTIVITY_TIME', 'datetime', 'Последняя активность', ro),
  ...utm(),
  f('LAST_ACTIVITY_BY', 'user', 'Последняя активность — кто', ro),
];

const CONTACT: FieldDef[] = [
  f('ID', 'integer', 'ID', ro),
  f('POST', 'string', 'Должность'),
  f('COMMENTS', 'string', 'Комментарий'),
  f('HONORIFIC', 'crm_status', 'Обращение', { statusType: 'HONORIFIC' }),
  f('NAME', 'string', 'Имя'),
  f('SECOND_NAME', 'string', 'Отчество'),
  f('LAST_NAME', 'string', 'Фамилия'),
  f('PHOTO', 'file', 'Фотография'),
  f('LEAD_ID', 'crm_lead', 'Лид', ro),
  f('TYPE_ID', 'crm_status', 'Тип контакта', { statusType: 'CONTACT_TYPE' }),
  f('SOURCE_ID', 'crm_status', 'Источник', { statusType: 'SOURCE' }),
  f('SOURCE_DESCRIPTION', 'string', 'Дополнительно об источнике'),
  f('COMPANY_ID', 'crm_company', 'Компания'),
  f('BIRTHDATE', 'date', 'Дата рождения'),
  f('EXPORT', 'char', 'Участвует в экспорте контактов'),
  f('HAS_PHONE', 'char', 'Есть телефон', ro),
  f('HAS_EMAIL', 'char', 'Есть e-mail', ro),
  f('HAS_IMOL', 'char', 'Есть открытая линия', ro),
  f('DATE_CREATE', 'datetime', 'Дата создания', ro),
  f('DATE_MODIFY', 'datetime', 'Дата изменения', ro),
  f('ASSIGNED_BY_ID', 'user', 'Ответственный'),
  f('CREATED_BY_ID', 'user', 'Кем создан', ro),
  f('MODIFY_BY_ID', 'user', 'Кем изменён', ro),
  f('OPENED', 'char', 'Доступен для всех'),
  f('ORIGINATOR_ID', 'string', 'Внешний источник'),
  f('ORIGIN_ID', 'string', 'Идентификатор во внешнем источнике'),
  f('ORIGIN_VERSION', 'string', 'Версия оригинала'),
  f('FACE_ID', 'integer', 'Привязка к лицам', ro),
  f('LAST_ACTIVITY_TIME', 'datetime', 'Последняя активность', ro),
  ...address().filter((x) => x.name !== 'ADDRESS_COUNTRY_CODE'),
  ...utm(),
  f('LAST_ACTIVITY_BY', 'user', 'Последняя активность — кто', ro),
];

const COMPANY: FieldDef[] = [
  f('ID', 'integer', 'ID', ro),
  f('COMPANY_TYPE', 'crm_status', 'Тип компании', { statusType: 'COMPANY_TYPE' }),
  f('TITLE', 'string', 'Название компании'),
  f('LOGO', 'file', 'Логотип'),
  f('LEAD_ID', 'crm_lead', 'Лид', ro),
  f('HAS_PHONE', 'char', 'Есть телефон', ro),
  f('HAS_EMAIL', 'char', 'Есть e-mail', ro),
  f('HAS_IMOL', 'char', 'Есть открытая линия', ro),
  f('ASSIGNED_BY_ID', 'user', 'Ответственный'),
  f('CREATED_BY_ID', 'user', 'Кем создана', ro),
  f('MODIFY_BY_ID', 'user', 'Кем изменена', ro),
  f('BANKING_DETAILS', 'string', 'Банковские реквизиты'),
  f('INDUSTRY', 'crm_status', 'Сфера деятельности', { statusType: 'INDUSTRY' }),
  f('REVENUE', 'double', 'Годовой оборот'),
  f('CURRENCY_ID', 'crm_currency', 'Валюта'),
  f('EMPLOYEES', 'crm_status', 'Кол-во сотрудников', { statusType: 'EMPLOYEES' }),
  f('COMMENTS', 'string', 'Комментарий'),
  f('DATE_CREATE', 'datetime', 'Дата создания', ro),
  f('DATE_MODIFY', 'datetime', 'Дата изменения', ro),
  f('OPENED', 'char', 'Доступна для всех'),
  f('IS_MY_COMPANY', 'char', 'Моя компания'),
  f('ORIGINATOR_ID', 'string', 'Внешний источник'),
  f('ORIGIN_ID', 'string', 'Идентификатор во внешнем источнике'),
  f('ORIGIN_VERSION', 'string', 'Версия оригинала'),
  f('LAST_ACTIVITY_TIME', 'datetime', 'Последняя активность', ro),
  ...address(),
  ...utm(),
  f('LAST_ACTIVITY_BY', 'user', 'Последняя активность — кто', ro),
];

export const FIELDS: Record<EntityType, readonly FieldDef[]> = { LEAD, DEAL, CONTACT, COMPANY };

export function fieldDef(type: EntityType, name: string): FieldDef | undefined {
  return FIELDS[type].find((d) => d.name === name);
}

/** Which multifield types each entity has (deals have none). */
export const ENTITY_MULTIFIELDS: Record<EntityType, readonly MultiFieldType[]> = {
  LEAD: ['PHONE', 'EMAIL', 'WEB', 'IM', 'LINK'],
  CONTACT: ['PHONE', 'EMAIL', 'WEB', 'IM', 'LINK'],
  COMPANY: ['PHONE', 'EMAIL', 'WEB', 'IM', 'LINK'],
  DEAL: [],
};

/** CCrmFieldMulti value types (docs/facts/bitrix24.md#crm-lead); the first one is the default for an omitted VALUE_TYPE. */
export const MULTIFIELD_VALUE_TYPES: Record<MultiFieldType, readonly string[]> = {
  PHONE: ['WORK', 'MOBILE', 'FAX', 'HOME', 'PAGER', 'MAILING', 'OTHER'],
  EMAIL: ['WORK', 'HOME', 'MAILING', 'OTHER'],
  WEB: ['WORK', 'HOME', 'FACEBOOK', 'VK', 'LIVEJOURNAL', 'TWITTER', 'OTHER'],
  IM: ['OTHER', 'TELEGRAM', 'VK', 'SKYPE', 'VIBER', 'BITRIX24', 'OPENLINE', 'IMOL', 'ICQ', 'MSN', 'JABBER', 'INSTAGRAM', 'FACEBOOK'],
  LINK: ['USER'],
};

/** Numbers, ids and dates compare as numbers in filters; everything else as text. */
export function isNumericType(t: FieldType): boolean {
  return ['integer', 'double', 'user', 'crm_company', 'crm_contact', 'crm_lead', 'crm_category'].includes(t);
}

export const isDateType = (t: FieldType): boolean => t === 'date' || t === 'datetime';
