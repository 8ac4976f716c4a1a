import { z } from 'zod';
import {
  fieldMappingSchemaFor,
  filterSchemaFor,
  funnelSettingsSchemaFor,
  unknownVariables,
  type FilterOf,
  type StageTarget,
} from './crm-rules';

/**
 * Settings of the «Телефония» tab (seed 002 lines 22–229): how UIS calls appear in Bitrix24 and
 * what CRM items they create. Filters, funnels, responsibles, templates and field mapping have the
 * shapes of the «Чаты» tab (server/contracts/crm-rules.ts): one engine, other parameters.
 */

/** «Для входящих звонков есть параметры» (seed 002 lines 93–102), in the manual's order. */
export const CALL_IN_FILTER_PARAMS = [
  'virtual_phone_number',
  'last_operation_id',
  'scenario_id',
  'group_id',
  'employee_id',
  'campaign_id',
  'first_campaign_id',
  'site_id',
  'source_id',
] as const;
/** «Для исходящих звонков есть параметры» (seed 002 lines 110–112). */
export const CALL_OUT_FILTER_PARAMS = ['virtual_phone_number', 'employee_id'] as const;
export type CallInFilterParam = (typeof CALL_IN_FILTER_PARAMS)[number];
export type CallOutFilterParam = (typeof CALL_OUT_FILTER_PARAMS)[number];
export type CallFilterParam = CallInFilterParam | CallOutFilterParam;

/**
 * Incoming-call parameters known only once an employee answers: with a filter on one of them «вызов
 * может быть зарегистрирован в Bitrix24 только после принятия звонка сотрудником, а значит
 * пропущенные звонки не будут зарегистрированы» (seed 002 line 89).
 */
export const ANSWER_TIME_PARAMS: readonly CallInFilterParam[] = ['employee_id', 'group_id', 'last_operation_id'];

/** Whether an incoming filter tests a parameter known only after the answer (the tab shows the warning below). */
export function usesAnswerTimeParams(filter: FilterOf): boolean {
  return filter.groups.some((g) => g.conditions.some((c) => (ANSWER_TIME_PARAMS as readonly string[]).includes(c.param)));
}

/** Shown under «Фильтровать звонки» when `usesAnswerTimeParams` (seed 002 line 89, «ВНИМАНИЕ!»). */
export const ANSWER_FILTER_WARNING =
  'Фильтр по параметрам «Сотрудник», «Выбранная посетителем группа» или «Последняя операция сценария» можно проверить только после ответа сотрудника: такие звонки регистрируются в Bitrix24 после принятия, пропущенные звонки не регистрируются.';

export const callInFilterSchema = filterSchemaFor(CALL_IN_FILTER_PARAMS);
export const callOutFilterSchema = filterSchemaFor(CALL_OUT_FILTER_PARAMS);
export type CallInFilter = z.infer<typeof callInFilterSchema>;
export type CallOutFilter = z.infer<typeof callOutFilterSchema>;

/** Values a call title template or a «Доп. поля» mapping can take (UIS notification/report names). */
export const CALL_VARIABLES = [
  'contact_phone_number',
  'contact_full_name',
  'app_name',
  'virtual_phone_number',
  'call_session_id',
  'communication_id',
  'direction',
  'scenario_name',
  'last_operation_name',
  'group_name',
  'employee_full_name',
  'campaign_name',
  'first_campaign_name',
  'site_domain_name',
  'source_name',
  'utm_source',
  'utm_medium',
  'utm_campaign',
  'utm_term',
  'utm_content',
  'talk_duration',
  'date',
] as const;
export const callVariableSchema = z.enum(CALL_VARIABLES);
export type CallVariable = z.infer<typeof callVariableSchema>;

/** The manual's titles when no template is set (seed 002 lines 160–166). */
export const DEFAULT_CALL_TITLES = {
  in: 'Входящий звонок на номер {{contact_phone_number}} из приложения {{app_name}}',
  out: 'Исходящий звонок на номер {{contact_phone_number}} из приложения {{app_name}}',
} as const;

const template = z.string().max(255);
const titles = z.object({ lead: template, deal: template });
/** «Шаблоны»: per entity, optionally per filter (seed 002 lines 152–157); empty = the next one down. */
const templateSetFor = <F extends z.ZodType<FilterOf>>(filter: F) =>
  z.object({ defaults: titles, rules: z.array(titles.extend({ filter })).max(50) });

const userId = z.number().int().positive();
/** A phone number as UIS lists virtual numbers: digits with an optional `+`. */
const phoneNumber = z.string().trim().regex(/^\+?\d{10,15}$/, 'Choose a number of the account');

export const callFieldMappingSchema = fieldMappingSchemaFor(CALL_VARIABLES);
export type CallFieldMapping = z.infer<typeof callFieldMappingSchema>;

export const telephonySettingsSchema = z
  .object({
    /** The tab's switch (seed 001 line 64: «В каждом из разделов есть тоггл»). */
    enabled: z.boolean(),
    /** «Основное» → «Обработка звонков» (seed 002 lines 36–117). */
    processing: z.object({
      /** «Использовать другую телефонию»: nothing created, only items changed during the call get the fields. */
      otherTelephony: z.boolean(),
      createForIncoming: z.boolean(),
      createForOutgoing: z.boolean(),
      /** «Обновлять ответственного через»: created with the default responsible, the responsible and the activity after `minutes`. */
      responsibleDelay: z.object({ use: z.boolean(), minutes: z.number().int().min(1).max(1440) }),
      /** «Передавать виртуальные номера как источник обращения» → «Дополнительно об источнике». */
      virtualNumberAsSource: z.boolean(),
      /** «Фильтровать звонки»: off or without conditions = every call. */
      filter: z.object({ use: z.boolean(), incoming: callInFilterSchema, outgoing: callOutFilterSchema }),
    }),
    /** «Переадресация на персонального менеджера из CRM» (issue #14). */
    personalManager: z.object({ use: z.boolean() }).optional(),
    /** «Звонки по клику из CRM» (issue #14, seed 002 lines 119–125). */
    clickToCall: z.object({ use: z.boolean(), number: phoneNumber.nullable(), overrideCallerId: z.boolean() }).optional(),
    /** «Обратный звонок» (issue #14, seed 002 lines 126–133). */
    callback: z.object({ use: z.boolean(), number: phoneNumber.nullable() }).optional(),
    /** «Запись разговора» (seed 002 lines 134–142). */
    recording: z.object({
      /** «Передавать записи разговора» */
      transfer: z.boolean(),
      /** «Создавать дело и передавать записи, если настроены определенные фильтры» */
      withFilters: z.boolean(),
    }),
    /** «Открытые линии»: «Добавлять сообщение о совершенном звонке сотруднику в чат» (seed 002 line 145). */
    chatMessage: z.boolean(),
    templates: z.object({ incoming: templateSetFor(callInFilterSchema), outgoing: templateSetFor(callOutFilterSchema) }),
    funnels: z.object({ incoming: funnelSettingsSchemaFor(callInFilterSchema), outgoing: funnelSettingsSchemaFor(callOutFilterSchema) }),
    responsible: z.object({
      /** «сотрудник, который будет назначен ответственным … в случае пропущенного входящего звонка» */
      incomingDefaultUserId: userId.nullable(),
      /** «ответственный по умолчанию, в случае, если ответственный не найден в системе» (outgoing) */
      outgoingDefaultUserId: userId.nullable(),
      /** incoming calls only (seed 002 line 184); ordered, the first matching rule wins */
      rules: z.array(z.object({ userId, filter: callInFilterSchema })).max(50),
      /** «первый или последний разговаривающий» */
      talker: z.enum(['first', 'last']),
    }),
    fields: z.array(callFieldMappingSchema).max(100),
  })
  .superRefine((s, ctx) => {
    if (!s.enabled) return;
    const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
    // «Для данного раздела поля с ответственными по умолчанию - обязательные» (line 180); a missed
    // call is registered and finished for one of them, in every mode
    if (!s.responsible.incomingDefaultUserId) issue(['responsible', 'incomingDefaultUserId'], 'Choose the responsible for missed incoming calls');
    if (!s.responsible.outgoingDefaultUserId) issue(['responsible', 'outgoingDefaultUserId'], 'Choose the default responsible for outgoing calls');
    // «Поле "Номер для исходящего звонка по клику" является обязательным при включении» (line 123)
    if (s.clickToCall?.use && !s.clickToCall.number) issue(['clickToCall', 'number'], 'Choose the number for click-to-call: it is required when «Звонки по клику из CRM» is on');
    // «Поле "Номер для исходящего звонка" обязательное» (line 129)
    if (s.callback?.use && !s.callback.number) issue(['callback', 'number'], 'Choose the number for callbacks: it is required when «Обратный звонок» is on');
    // «При их добавлении, данные поля являются обязательными» (line 171)
    for (const dir of ['incoming', 'outgoing'] as const) {
      s.funnels[dir].rules.forEach((r, i) => {
        for (const [field, message] of funnelRuleProblems(r)) issue(['funnels', dir, 'rules', i, field], message);
      });
      const check = (t: string, path: (string | number)[]) => {
        for (const v of unknownVariables(t, CALL_VARIABLES)) issue(path, `Unknown variable {{${v}}}`);
      };
      const set = s.templates[dir];
      for (const e of ['lead', 'deal'] as const) check(set.defaults[e], ['templates', dir, 'defaults', e]);
      set.rules.forEach((r, i) => {
        for (const e of ['lead', 'deal'] as const) check(r[e], ['templates', dir, 'rules', i, e]);
        if (!r.lead.trim() && !r.deal.trim()) issue(['templates', dir, 'rules', i, 'lead'], 'Write a lead or a deal title for this filter');
      });
    }
  });
export type TelephonySettings = z.infer<typeof telephonySettingsSchema>;

/** A funnel rule needs a lead status or a whole deal funnel + stage; a stage belongs to its funnel. */
function funnelRuleProblems(r: StageTarget): Array<['leadStatusId' | 'dealCategoryId' | 'dealStageId', string]> {
  const out: Array<['leadStatusId' | 'dealCategoryId' | 'dealStageId', string]> = [];
  if (r.dealCategoryId !== null && !r.dealStageId) out.push(['dealStageId', 'Choose the deal stage of this funnel']);
  if (r.dealCategoryId === null && r.dealStageId) out.push(['dealCategoryId', 'Choose the funnel of this stage']);
  if (r.leadStatusId === null && r.dealCategoryId === null && !r.dealStageId) out.push(['leadStatusId', 'Choose the lead stage or the deal funnel and stage of this rule']);
  return out;
}

const noFilter = () => ({ join: 'and' as const, groups: [] });
const noStage = (): StageTarget => ({ leadStatusId: null, dealCategoryId: null, dealStageId: null });

/**
 * A tab nobody saved yet. The manual fixes what it states — every call passes without a filter
 * (line 81), empty templates use its titles (line 160) — the rest is what a new customer expects:
 * CRM items for every call, recordings and the chat message on (Bitrix24's own default), the
 * activity and recording kept when a filter on the employee is added (line 137), the responsible
 * who answered first. The defaults of «Ответственные» are left for the admin to choose.
 */
export function defaultTelephonySettings(): TelephonySettings {
  return {
    enabled: false,
    processing: {
      otherTelephony: false,
      createForIncoming: true,
      createForOutgoing: true,
      responsibleDelay: { use: false, minutes: 5 },
      virtualNumberAsSource: true,
      filter: { use: false, incoming: noFilter(), outgoing: noFilter() },
    },
    personalManager: { use: false },
    clickToCall: { use: false, number: null, overrideCallerId: false },
    callback: { use: false, number: null },
    recording: { transfer: true, withFilters: true },
    chatMessage: true,
    templates: { incoming: { defaults: { lead: '', deal: '' }, rules: [] }, outgoing: { defaults: { lead: '', deal: '' }, rules: [] } },
    funnels: { incoming: { defaults: noStage(), rules: [] }, outgoing: { defaults: noStage(), rules: [] } },
    responsible: { incomingDefaultUserId: null, outgoingDefaultUserId: null, rules: [], talker: 'first' },
    fields: [],
  };
}

/** POST preview of the call titles on the example call. */
export const callTemplatePreviewRequestSchema = z.object({ direction: z.enum(['in', 'out']), templates: titles });
export type CallTemplatePreviewRequest = z.infer<typeof callTemplatePreviewRequestSchema>;
export const callTemplatePreviewSchema = z.object({
  lead: z.string(),
  deal: z.string(),
  example: z.partialRecord(callVariableSchema, z.string()),
});
export type CallTemplatePreview = z.infer<typeof callTemplatePreviewSchema>;
