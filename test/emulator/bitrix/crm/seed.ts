/**
 * What a person finds in the CRM of a fresh emulated portal (documented in README.md, "CRM seeds").
 * Created before the app is installed, so no events are sent for them.
 */
import type { CrmStore } from './store';

export function seedCrm(crm: CrmStore): void {
  const admin = { id: 1, admin: true };
  const employee = { id: 2, admin: false };

  const company = crm.add(
    'COMPANY',
    { TITLE: 'ООО «Ромашка»', PHONE: [{ VALUE: '+74951234567', VALUE_TYPE: 'WORK' }], OPENED: 'Y', ASSIGNED_BY_ID: 1 },
    admin,
    1,
  );
  const contact = crm.add(
    'CONTACT',
    {
      NAME: 'Пётр',
      LAST_NAME: 'Клиентов',
      POST: 'Закупщик',
      COMPANY_ID: company.id,
      PHONE: [{ VALUE: '+79031234567', VALUE_TYPE: 'MOBILE' }],
      EMAIL: [{ VALUE: 'petr@example.com', VALUE_TYPE: 'WORK' }],
      OPENED: 'Y',
      ASSIGNED_BY_ID: 1,
      SOURCE_ID: 'CALL',
    },
    admin,
    1,
  );
  // lead 1: the employee's own lead, not open to everyone
  const lead = crm.add(
    'LEAD',
    {
      TITLE: 'Иван Петров — заявка с сайта',
      NAME: 'Иван',
      LAST_NAME: 'Петров',
      SOURCE_ID: 'WEB',
      STATUS_ID: 'IN_PROCESS',
      PHONE: [{ VALUE: '+79161234567', VALUE_TYPE: 'WORK' }],
      EMAIL: [{ VALUE: 'ivan@example.com', VALUE_TYPE: 'WORK' }],
      ASSIGNED_BY_ID: 2,
      OPENED: 'N',
      COMMENTS: 'Интересуется доставкой в регионы',
    },
    employee,
    2,
  );
  // deal 1: the admin's, open to everyone, bound to the contact
  crm.add(
    'DEAL',
    {
      TITLE: 'Поставка оборудования',
      CONTACT_ID: contact.id,
      COMPANY_ID: company.id,
      STAGE_ID: 'PREPARATION',
      OPPORTUNITY: 120000,
      ASSIGNED_BY_ID: 1,
      OPENED: 'Y',
      SOURCE_ID: 'CALL',
    },
    admin,
    1,
  );
  // lead 2: no contact data at all
  crm.add('LEAD', { TITLE: 'Заявка без контактов', SOURCE_ID: 'OTHER', ASSIGNED_BY_ID: 1, OPENED: 'Y' }, admin, 1);
  // lead 3: the admin's and not opened: invisible to the employee
  crm.add(
    'LEAD',
    { TITLE: 'Крупный клиент (конфиденциально)', NAME: 'Сергей', SOURCE_ID: 'RECOMMENDATION', ASSIGNED_BY_ID: 1, OPENED: 'N', PHONE: [{ VALUE: '+79250000003' }] },
    admin,
    1,
  );

  crm.addComment({ entityType: 'LEAD', entityId: lead.id, comment: 'Клиент просил перезвонить после 15:00', authorId: 2, files: [] });
  crm.addActivity({
    ownerType: 'DEAL',
    ownerId: 1,
    providerId: 'CRM_TODO',
    subject: 'Подготовить коммерческое предложение',
    description: '',
    deadline: crm.now(),
    responsibleId: 1,
    authorId: 1,
    completed: 'N',
    originId: '',
    associatedEntityId: 0,
  });
}
