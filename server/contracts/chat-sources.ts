import { z } from 'zod';
import { attributionSchema, type Attribution } from './analytics';

/**
 * «Источники чатов» of the analytics tab (issue #15; seeds 003 amoCRM and 004 Jivo): chat sources
 * other than Bitrix24 Open Lines whose conversations go to UIS analytics through the same pipeline.
 */
export const CHAT_SOURCES = ['jivo', 'amocrm'] as const;
export type ChatSource = (typeof CHAT_SOURCES)[number];

const id = z.number().int().positive();

/**
 * A mapping key: a Jivo `widget_id` or an amoCRM talk `origin` (`telegram`, `waba`,
 * `com.wazzup24.…`). Letters, digits and `._:@-` only.
 */
export const channelKeySchema = z
  .string()
  .trim()
  .min(1)
  .max(100)
  .regex(/^[\w.:@-]+$/, 'letters, digits and . _ : @ - only');

/** One row of «Соответствие мессенджеров и источников»: what chats of that channel count as. */
export const mappingRowSchema = attributionSchema.extend({ label: z.string().trim().max(100).nullable() });
export type MappingRow = z.infer<typeof mappingRowSchema>;

const mappings = z
  .record(channelKeySchema, mappingRowSchema)
  .refine((m) => Object.keys(m).length <= 50, 'at most 50 channels');

const base = {
  enabled: z.boolean(),
  trafficType: z.enum(['source', 'campaign']),
  /** for conversations without a session and without a mapped channel */
  defaults: attributionSchema,
  messengers: mappings,
};

type Base = { enabled: boolean; trafficType: 'source' | 'campaign'; defaults: Attribution; messengers: Record<string, MappingRow> };

function checkEnabled(s: Base, ctx: z.RefinementCtx): void {
  if (!s.enabled) return;
  const check = (a: Attribution, path: (string | number)[]) => {
    if (s.trafficType === 'campaign' && !a.campaignId) ctx.addIssue({ code: 'custom', path: [...path, 'campaignId'], message: 'Choose an advertising campaign' });
    if (s.trafficType === 'source' && !a.siteId) ctx.addIssue({ code: 'custom', path: [...path, 'siteId'], message: 'Choose a site' });
  };
  check(s.defaults, ['defaults']);
}

export const jivoSettingsSchema = z
  .object({
    ...base,
    /** «Сотрудник»: the UIS employee the uploaded chats are assigned to (operator messages need one). */
    employeeId: id.nullable(),
  })
  .superRefine((s, ctx) => {
    checkEnabled(s, ctx);
    if (s.enabled && !s.employeeId) ctx.addIssue({ code: 'custom', path: ['employeeId'], message: 'Choose the employee the chats are assigned to' });
  });
export type JivoSettings = z.infer<typeof jivoSettingsSchema>;

/** «Кастомное поле для сессии»: a field of leads or of contacts in the connected amoCRM account. */
export const sessionFieldSchema = z.object({ entity: z.enum(['leads', 'contacts']), fieldId: id });

export const amoSettingsSchema = z
  .object({
    ...base,
    sessionField: sessionFieldSchema.nullable(),
  })
  .superRefine((s, ctx) => {
    checkEnabled(s, ctx);
    if (s.enabled && !s.sessionField) ctx.addIssue({ code: 'custom', path: ['sessionField'], message: 'Choose the custom field the site script fills with the UIS session' });
  });
export type AmoSettings = z.infer<typeof amoSettingsSchema>;

export const DEFAULT_JIVO_SETTINGS: JivoSettings = {
  enabled: false,
  trafficType: 'source',
  defaults: { sourceId: null, siteId: null, campaignId: null },
  messengers: {},
  employeeId: null,
};
export const DEFAULT_AMO_SETTINGS: AmoSettings = {
  enabled: false,
  trafficType: 'source',
  defaults: { sourceId: null, siteId: null, campaignId: null },
  messengers: {},
  sessionField: null,
};

/** A source's state for the admin (and the coming health view): what happened last, and what to do. */
export const sourceStateSchema = z.object({
  lastEventAt: z.string().nullable(),
  lastUploadAt: z.string().nullable(),
  /** `code` is stable (the page words the fix by it); `fix` says it in English. */
  lastError: z.object({ at: z.string(), code: z.string(), message: z.string(), fix: z.string() }).nullable(),
  counts: z.object({ pending: z.number(), uploaded: z.number(), skipped: z.number(), failed: z.number() }),
  /** Channels seen in traffic (Jivo widget_id, amoCRM origin), so unmapped ones can be mapped. */
  channels: z.array(z.object({ key: z.string(), lastAt: z.string(), mapped: z.boolean() })),
});
export type SourceState = z.infer<typeof sourceStateSchema>;

const script = z.object({ version: z.string(), code: z.string() }).nullable();

export const jivoViewSchema = z.object({
  settings: jivoSettingsSchema,
  /** «Webhook url» with the account's secret in the path; '' until first saved */
  webhookUrl: z.string(),
  script,
  state: sourceStateSchema,
});
export type JivoView = z.infer<typeof jivoViewSchema>;

export const amoConnectionSchema = z.object({
  name: z.string(),
  /** the account's host, e.g. `romashka.amocrm.ru` */
  domain: z.string(),
  accountId: z.number(),
  connectedAt: z.string(),
  status: z.enum(['active', 'reauth']),
  statusReason: z.string().nullable(),
  /** the «Беседа изменена» hook: registered by API, or to be made by hand (plan or rights) */
  webhook: z.object({ mode: z.enum(['api', 'manual']), disabled: z.boolean(), detail: z.string().nullable() }),
});
export type AmoConnection = z.infer<typeof amoConnectionSchema>;

export const amoViewSchema = z.object({
  settings: amoSettingsSchema,
  connection: amoConnectionSchema.nullable(),
  webhookUrl: z.string(),
  script,
  state: sourceStateSchema,
});
export type AmoView = z.infer<typeof amoViewSchema>;

export const chatSourcesViewSchema = z.object({ jivo: jivoViewSchema, amocrm: amoViewSchema });
export type ChatSourcesView = z.infer<typeof chatSourcesViewSchema>;

/** POST /api/chat-sources/amocrm/connect: «Подключить учетную запись». */
export const amoConnectRequestSchema = z.object({
  name: z.string().trim().min(1).max(100),
  /** `romashka`, `romashka.amocrm.ru` or its https URL */
  domain: z.string().trim().min(1).max(200),
});
export type AmoConnectRequest = z.infer<typeof amoConnectRequestSchema>;

export const amoFieldsSchema = z.array(z.object({ entity: z.enum(['leads', 'contacts']), id: z.number(), name: z.string(), type: z.string() }));
export type AmoFields = z.infer<typeof amoFieldsSchema>;

/** What happened to each conversation (skips and refusals with their reason: nothing silent). */
export const sourceItemViewSchema = z.object({
  source: z.enum(CHAT_SOURCES),
  extId: z.string(),
  kind: z.enum(['chat', 'request']),
  channel: z.string().nullable(),
  status: z.enum(['pending', 'open', 'waiting', 'uploaded', 'skipped', 'failed']),
  reason: z.string().nullable(),
  attribution: z.string().nullable(),
  updatedAt: z.string(),
});
export type SourceItemView = z.infer<typeof sourceItemViewSchema>;
