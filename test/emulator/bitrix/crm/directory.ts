/**
 * CRM directories of a fresh Russian cloud portal: lead stages, sources, deal stages per funnel,
 * deal/contact types (crm.status.list, docs/facts/bitrix24.md#crm-deals-contacts), deal funnels (crm.category.list), lead custom
 * fields (crm.lead.userfield.list) and the user directory (user.get, docs/facts/bitrix24.md#users-notifications).
 */
import type { DealCategory, DirectoryUser, StatusRow, UserFieldDef } from './types';

type Semantic = 'process' | 'success' | 'failure' | 'apology';

export class Directory {
  private statusSeq = 100;
  readonly statuses: StatusRow[] = [];
  readonly categories: DealCategory[] = [
    { id: 0, name: 'Общая', sort: 100 },
    { id: 1, name: 'Повторные продажи', sort: 200 },
  ];
  readonly leadUserFields: UserFieldDef[] = [
    userField(101, 'UF_CRM_UIS_CHAT_ID', 'ID чата UIS', 100),
    userField(102, 'UF_CRM_YA_CID', 'Яндекс ClientID', 110),
  ];
  readonly users: DirectoryUser[] = [
    { id: 1, name: 'Анна', lastName: 'Админова', email: 'admin@portal.example', active: true, department: [1], workPosition: 'Руководитель отдела продаж', externalAuthId: '', phoneInner: '101' },
    { id: 2, name: 'Иван', lastName: 'Сотрудников', email: 'ivan@portal.example', active: true, department: [1], workPosition: 'Менеджер', externalAuthId: '', phoneInner: '102', personalMobile: '+79035550102' },
    // no LAST_NAME: user.get returns "" for it, apps must not print "undefined"
    { id: 3, name: 'Мария', lastName: '', email: 'maria@portal.example', active: true, department: [2], workPosition: '', externalAuthId: '' },
    { id: 4, name: 'Олег', lastName: 'Уволенный', email: 'oleg@portal.example', active: false, department: [1], workPosition: 'Менеджер', externalAuthId: '', phoneInner: '104' },
    // the hidden system user integrations can be moved to (docs/facts/bitrix24.md#production-facts); never returned by user.get
    { id: 5, name: 'Системный', lastName: 'пользователь', email: '', active: true, department: [], workPosition: '', externalAuthId: 'rest_system' },
  ];

  constructor() {
    const add = (entity: string, rows: Array<[string, string, Semantic?, string?]>, categoryId: string | null = null) => {
      rows.forEach(([statusId, name, semantic = 'process', color = '#39A8EF'], i) => {
        const system = i === 0 || semantic === 'success' || (semantic === 'failure' && rows.filter((r) => r[2] === 'failure')[0]?.[0] === statusId);
        this.statuses.push({
          ID: String(++this.statusSeq),
          ENTITY_ID: entity,
          STATUS_ID: statusId,
          NAME: name,
          NAME_INIT: system ? name : '',
          SORT: String((i + 1) * 10),
          SYSTEM: system ? 'Y' : 'N',
          CATEGORY_ID: categoryId,
          COLOR: color,
          SEMANTICS: semantic === 'success' ? 'S' : semantic === 'process' ? null : 'F',
          EXTRA: { SEMANTICS: semantic, COLOR: color },
        });
      });
    };
    add('STATUS', [
      ['NEW', 'Не обработан'],
      ['IN_PROCESS', 'В работе', 'process', '#2FC6F6'],
      ['PROCESSED', 'Обработан', 'process', '#55D0E0'],
      ['CONVERTED', 'Качественный лид', 'success', '#7BD500'],
      ['JUNK', 'Некачественный лид', 'failure', '#FF5752'],
    ]);
    add('SOURCE', [
      ['CALL', 'Звонок'],
      ['EMAIL', 'Электронная почта'],
      ['WEB', 'Веб-сайт'],
      ['ADVERTISING', 'Реклама'],
      ['PARTNER', 'Существующий клиент'],
      ['RECOMMENDATION', 'По рекомендации'],
      ['TRADE_SHOW', 'Выставка'],
      ['WEBFORM', 'CRM-форма'],
      ['CALLBACK', 'Обратный звонок'],
      ['STORE', 'Интернет-магазин'],
      ['OTHER', 'Другое'],
    ]);
    add('DEAL_STAGE', [
      ['NEW', 'Новая'],
      ['PREPARATION', 'Подготовка документов', 'process', '#2FC6F6'],
      ['PREPAYMENT_INVOICE', 'Счёт на предоплату', 'process', '#55D0E0'],
      ['EXECUTING', 'В работе', 'process', '#47E4C2'],
      ['FINAL_INVOICE', 'Финальный счёт', 'process', '#FFA900'],
      ['WON', 'Сделка успешна', 'success', '#7BD500'],
      ['LOSE', 'Сделка провалена', 'failure', '#FF5752'],
      ['APOLOGY', 'Анализ причины провала', 'apology', '#FF5752'],
    ]);
    add(
      'DEAL_STAGE_1',
      [
        ['C1:NEW', 'Новая'],
        ['C1:PREPARATION', 'Подготовка документов', 'process', '#2FC6F6'],
        ['C1:EXECUTING', 'В работе', 'process', '#47E4C2'],
        ['C1:WON', 'Сделка успешна', 'success', '#7BD500'],
        ['C1:LOSE', 'Сделка провалена', 'failure', '#FF5752'],
      ],
      '1',
    );
    add('DEAL_TYPE', [
      ['SALE', 'Продажа'],
      ['COMPLEX', 'Комплексная продажа'],
      ['GOODS', 'Продажа товара'],
      ['SERVICES', 'Продажа услуги'],
      ['SERVICE', 'Сервисное обслуживание'],
    ]);
    add('CONTACT_TYPE', [
      ['CLIENT', 'Клиенты'],
      ['SUPPLIER', 'Поставщики'],
      ['PARTNER', 'Партнёры'],
      ['OTHER', 'Другое'],
    ]);
    add('COMPANY_TYPE', [
      ['CUSTOMER', 'Клиент'],
      ['SUPPLIER', 'Поставщик'],
      ['PARTNER', 'Партнёр'],
      ['OTHER', 'Другое'],
    ]);
    add('HONORIFIC', [
      ['HNR_RU_1', 'г-н'],
      ['HNR_RU_2', 'г-жа'],
    ]);
  }

  /** `DEAL_STAGE` for the default funnel, `DEAL_STAGE_<id>` for the others. */
  stageEntity(categoryId: number): string {
    return categoryId === 0 ? 'DEAL_STAGE' : `DEAL_STAGE_${categoryId}`;
  }

  stages(categoryId: number): StatusRow[] {
    const entity = this.stageEntity(categoryId);
    return this.statuses.filter((s) => s.ENTITY_ID === entity);
  }

  status(entity: string, statusId: string): StatusRow | undefined {
    return this.statuses.find((s) => s.ENTITY_ID === entity && s.STATUS_ID === statusId);
  }

  /** CCrmStatus::Add as the open-line tracker calls it for `"<line>|<TYPE>"` sources (sort 115). */
  addSource(statusId: string, name: string): void {
    if (this.status('SOURCE', statusId)) return;
    this.statuses.push({
      ID: String(++this.statusSeq),
      ENTITY_ID: 'SOURCE',
      STATUS_ID: statusId,
      NAME: name,
      NAME_INIT: '',
      SORT: '115',
      SYSTEM: 'N',
      CATEGORY_ID: null,
      COLOR: '',
      SEMANTICS: null,
      EXTRA: { SEMANTICS: 'process', COLOR: '' },
    });
  }

  userName(id: number): string {
    const u = this.users.find((x) => x.id === id);
    return u ? `${u.name} ${u.lastName}`.trim() : `#${id}`;
  }
}

function userField(id: number, name: string, label: string, sort: number): UserFieldDef {
  return {
    ID: String(id),
    ENTITY_ID: 'CRM_LEAD',
    FIELD_NAME: name,
    USER_TYPE_ID: 'string',
    XML_ID: '',
    SORT: String(sort),
    MULTIPLE: 'N',
    MANDATORY: 'N',
    SHOW_FILTER: 'E',
    SHOW_IN_LIST: 'Y',
    EDIT_IN_LIST: 'Y',
    IS_SEARCHABLE: 'N',
    SETTINGS: { SIZE: 20, ROWS: 1, REGEXP: '', MIN_LENGTH: 0, MAX_LENGTH: 0, DEFAULT_VALUE: '' },
    EDIT_FORM_LABEL: label,
    LIST_COLUMN_LABEL: label,
  };
}
