import { z } from 'zod';

/**
 * Settings of the «Чаты» and «Оффлайн заявки» tabs: how the app itself creates and updates
 * Bitrix24 CRM entities from UIS chats and offline requests (seed 002 «Чаты (офлайн заявки)»,
 * seed 001 «Вкладка Чаты»). One schema serves both tabs: «Интеграция с офлайн заявками
 * настраивается так же, как и с чатами»; offline requests ignore `channels` and `timing`.
 */

/** «Каналы чатов» as UIS names them (Data API `chat_channel_type`); `comagic` is the site web chat. */
export const CRM_CHANNELS = ['whatsapp', 'telegram', 'telegram_private', 'waba', 'avito', 'vkontakte_groups', 'email', 'comagic', 'sms'] as const;
export const crmChannelSchema = z.enum(CRM_CHANNELS);
export type CrmChannel = z.infer<typeof crmChannelSchema>;

/** Chat/request parameters the filters test (seed 002 «В поле «Параметр» выберите параметры фильтрации»). */
export const FILTER_PARAMS = [
  'site_id',
  'channel_type',
  'channel_id',
  'campaign_id',
  'first_campaign_id',
  'source_id',
  'utm_source',
  'utm_medium',
  'utm_campaign',
  'utm_term',
  'utm_content',
  'employee_id',
  'form_name',
] as const;
export const filterParamSchema = z.enum(FILTER_PARAMS);
export type FilterParam = z.infer<typeof filterParamSchema>;

/**
 * «Разрешен» / «Включить»: the value is one of `values`; «Запрещен» / «Исключить»: it is not (seed
 * 002 «Распределение по воронкам», telephony «Условия»). One shape for every communication: chats,
 * offline requests and calls differ only in their parameters.
 */
export function filterConditionSchemaFor<const P extends readonly [string, ...string[]]>(params: P) {
  return z.object({
    param: z.enum(params),
    rule: z.enum(['allowed', 'forbidden']),
    values: z.array(z.string().trim().min(1).max(200)).min(1, 'Choose at least one value').max(100),
  });
}

/** Conditions joined by «И»/«ИЛИ» inside a group, groups joined the same way (seed 001 «Фильтрация»). */
export function filterSchemaFor<const P extends readonly [string, ...string[]]>(params: P) {
  const group = z.object({ join: z.enum(['and', 'or']), conditions: z.array(filterConditionSchemaFor(params)).max(50) });
  return z.object({ join: z.enum(['and', 'or']), groups: z.array(group).max(20) });
}

/** A filter over any communication's parameters, as the shared engine reads it. */
export interface FilterConditionOf<P extends string = string> {
  param: P;
  rule: 'allowed' | 'forbidden';
  values: string[];
}
export interface FilterOf<P extends string = string> {
  join: 'and' | 'or';
  groups: Array<{ join: 'and' | 'or'; conditions: Array<FilterConditionOf<P>> }>;
}

export const filterConditionSchema = filterConditionSchemaFor(FILTER_PARAMS);
export type FilterCondition = z.infer<typeof filterConditionSchema>;
export const filterSchema = filterSchemaFor(FILTER_PARAMS);
export type Filter = z.infer<typeof filterSchema>;

const userId = z.number().int().positive();

export const responsibleRuleSchema = z.object({ userId, filter: filterSchema });
export const responsibleSettingsSchema = z.object({
  defaultUserId: userId.nullable(),
  /** «Фильтр ответственных»: ordered, the first matching rule wins. */
  rules: z.array(responsibleRuleSchema).max(50),
});
export type ResponsibleSettings = z.infer<typeof responsibleSettingsSchema>;

/** What a request creates: «Лид», «Сделка», «Лид + Сделка» or nothing, plus optionally «Дело». */
export const createActionSchema = z.object({ entities: z.enum(['none', 'lead', 'deal', 'lead_deal']), activity: z.boolean() });
export type CreateAction = z.infer<typeof createActionSchema>;

const stage = z.string().trim().min(1).max(50);
export const stageTargetSchema = z.object({ leadStatusId: stage.nullable(), dealCategoryId: z.number().int().min(0).nullable(), dealStageId: stage.nullable() });
export type StageTarget = z.infer<typeof stageTargetSchema>;

/** Default lead status / deal funnel and stage, and ordered filter rules (the first matching one wins). */
export function funnelSettingsSchemaFor<F extends z.ZodType<FilterOf>>(filter: F) {
  return z.object({ defaults: stageTargetSchema, rules: z.array(stageTargetSchema.extend({ filter })).max(50) });
}
export interface FunnelSettingsOf<P extends string = string> {
  defaults: StageTarget;
  rules: Array<StageTarget & { filter: FilterOf<P> }>;
}
export const funnelRuleSchema = stageTargetSchema.extend({ filter: filterSchema });
export type FunnelRule = z.infer<typeof funnelRuleSchema>;
export const funnelSettingsSchema = funnelSettingsSchemaFor(filterSchema);
export type FunnelSettings = z.infer<typeof funnelSettingsSchema>;

/** Values a template or a field mapping can take from the chat/request. */
export const UIS_VARIABLES = [
  'chat_id',
  'communication_id',
  'channel_type',
  'channel_name',
  'visitor_name',
  'visitor_phone',
  'visitor_email',
  'site',
  'campaign',
  'source',
  'utm_source',
  'utm_medium',
  'utm_campaign',
  'utm_term',
  'utm_content',
  'employee',
  'form_name',
  'request_text',
  'date',
] as const;
export const uisVariableSchema = z.enum(UIS_VARIABLES);
export type UisVariable = z.infer<typeof uisVariableSchema>;

/** Bitrix24 field codes: standard (`SOURCE_DESCRIPTION`) or custom (`UF_CRM_…`). */
export const b24FieldCodeSchema = z.string().regex(/^[A-Z][A-Z0-9_]{1,63}$/, 'Choose a Bitrix24 field');

/** «Сопоставление полей» / «Доп. поля»: a UIS value into a Bitrix24 text field of the lead/deal/contact/company. */
export function fieldMappingSchemaFor<const V extends readonly [string, ...string[]]>(variables: V) {
  return z.object({
    uisField: z.enum(variables),
    entity: z.enum(['lead', 'deal', 'contact', 'company']),
    b24Field: b24FieldCodeSchema,
    /** «Обновлять всегда»: off = filled only when the entity is created; on = updated on new data. */
    alwaysUpdate: z.boolean(),
  });
}
export interface FieldMappingOf<V extends string = string> {
  uisField: V;
  entity: 'lead' | 'deal' | 'contact' | 'company';
  b24Field: string;
  alwaysUpdate: boolean;
}
export const fieldMappingSchema = fieldMappingSchemaFor(UIS_VARIABLES);
export type FieldMapping = z.infer<typeof fieldMappingSchema>;

/** `{{name}}` placeholders of a template that are not among `variables`. */
export function unknownVariables(template: string, variables: readonly string[]): string[] {
  return [...template.matchAll(/\{\{\s*([^}\s]+)\s*\}\}/g)].map((m) => m[1]!).filter((v) => !variables.includes(v));
}

const template = z.string().max(255);

export const crmRulesSettingsSchema = z
  .object({
    /** The tab's switch. */
    enabled: z.boolean(),
    /** «Создавать Лиды/Сделки/Контакты»; off with the tab on = the «workspace + Open Lines» mode. */
    createEntities: z.boolean(),
    channels: z.array(crmChannelSchema).max(CRM_CHANNELS.length),
    /** «Фильтры»: which chats/requests are passed to Bitrix24 at all; no conditions = all. */
    filter: filterSchema,
    responsible: responsibleSettingsSchema,
    primary: createActionSchema,
    repeat: createActionSchema,
    commentPriority: z.enum(['deals', 'leads', 'both']),
    addToClosed: z.boolean(),
    timing: z.enum(['start', 'end']),
    createWithoutContacts: z.boolean(),
    copyToContactCompany: z.boolean(),
    notifyOnCreate: z.boolean(),
    funnels: z.object({ primary: funnelSettingsSchema, repeat: funnelSettingsSchema }),
    templates: z.object({ lead: template, deal: template }),
    fields: z.array(fieldMappingSchema).max(100),
  })
  .superRefine((s, ctx) => {
    if (!s.enabled || !s.createEntities) return;
    const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
    if (!s.responsible.defaultUserId) issue(['responsible', 'defaultUserId'], 'Choose the default responsible');
    if (s.primary.entities === 'none') issue(['primary', 'entities'], 'Choose what a primary request creates: chats are attached to leads and deals');
    for (const kind of ['primary', 'repeat'] as const) {
      const e = s[kind].entities;
      const f = s.funnels[kind];
      const needDeal = e === 'deal' || e === 'lead_deal';
      const check = (t: StageTarget, path: (string | number)[]) => {
        if (needDeal && t.dealCategoryId === null) issue([...path, 'dealCategoryId'], 'Choose the deal funnel');
        if (needDeal && !t.dealStageId) issue([...path, 'dealStageId'], 'Choose the deal stage');
      };
      check(f.defaults, ['funnels', kind, 'defaults']);
      f.rules.forEach((r, i) => check(r, ['funnels', kind, 'rules', i]));
    }
    for (const [name, t] of Object.entries(s.templates)) {
      for (const v of unknownVariables(t, UIS_VARIABLES)) issue(['templates', name], `Unknown variable {{${v}}}`);
    }
  });
export type CrmRulesSettings = z.infer<typeof crmRulesSettingsSchema>;

/** Shown next to «Создавать сущности, если нет контактных данных» (seed 002, same heading). */
export const NO_CONTACT_WARNING =
  'Поиск лидов без контактных данных невозможен: каждое обращение без контактных данных будет считаться первичным и создаст новую сущность.';
