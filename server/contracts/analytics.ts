import { z } from 'zod';

/**
 * «Открытые линии: сквозная аналитика»: which open-line chats behind new leads/deals go to UIS
 * analytics, attributed to what when the chat carries no UIS session.
 */
export const ANALYTICS_CONNECTORS = [
  'livechat',
  'telegrambot',
  'whatsappbyedna',
  'whatsappbytwilio',
  'vkgroup',
  'viber',
  'avito',
  'fbinstagramdirect',
  'facebook',
  'imessage',
  'email',
  'uis_omni',
] as const;
export type AnalyticsConnector = (typeof ANALYTICS_CONNECTORS)[number];

/**
 * The connectors the settings offer a mapping for. Chats of our own `uis_omni` connector are never
 * uploaded (they are UIS chats, already in UIS analytics), so it has no row; it stays in
 * ANALYTICS_CONNECTORS so that settings saved with it still parse.
 */
export const MAPPED_CONNECTORS = ANALYTICS_CONNECTORS.filter((c) => c !== 'uis_omni');

/** Skip reasons the job list explains in words (`<CODE>: <detail>` in AnalyticsJobView.reason). */
export const EXPLAINED_SKIPS = ['OWN_CONNECTOR', 'NOT_FROM_OPEN_LINE', 'NO_CONTACT', 'ENTITY_NOT_FOUND', 'ANALYTICS_DISABLED'] as const;

const id = z.number().int().positive();

/** Attribution for chats without a session: a source + site, or a campaign (per traffic type). */
export const attributionSchema = z.object({ sourceId: id.nullable(), siteId: id.nullable(), campaignId: id.nullable() });
export type Attribution = z.infer<typeof attributionSchema>;

export const analyticsSettingsSchema = z
  .object({
    enabled: z.boolean(),
    /** UIS employee the uploaded chats are attributed to (operator messages need one). */
    employeeId: id.nullable(),
    trafficType: z.enum(['source', 'campaign']),
    defaults: attributionSchema,
    /** Per Bitrix24 connector: overrides the default for chats from that messenger. */
    messengers: z.partialRecord(z.enum(ANALYTICS_CONNECTORS), attributionSchema),
    /** Application token of a hand-made outgoing webhook (Bitrix24 shows it when creating one). */
    webhookToken: z.string().trim().max(128).nullable(),
  })
  .superRefine((s, ctx) => {
    if (!s.enabled) return;
    if (!s.employeeId) ctx.addIssue({ code: 'custom', path: ['employeeId'], message: 'Choose the employee the chats are attributed to' });
    const check = (a: Attribution, path: (string | number)[]) => {
      if (s.trafficType === 'campaign' && !a.campaignId) ctx.addIssue({ code: 'custom', path: [...path, 'campaignId'], message: 'Choose an advertising campaign' });
      if (s.trafficType === 'source' && !a.siteId) ctx.addIssue({ code: 'custom', path: [...path, 'siteId'], message: 'Choose a site' });
    };
    check(s.defaults, ['defaults']);
  });
export type AnalyticsSettings = z.infer<typeof analyticsSettingsSchema>;

export const analyticsViewSchema = z.object({
  settings: analyticsSettingsSchema,
  /** URL for a hand-made outgoing webhook (ONCRMLEADADD / ONCRMDEALADD). */
  webhookUrl: z.string(),
  /** The site script to install after the UIS tracking code (present once saved and enabled). */
  script: z.object({ version: z.string(), code: z.string() }).nullable(),
});
export type AnalyticsView = z.infer<typeof analyticsViewSchema>;

/** Lists loaded live from the linked UIS account. */
export const analyticsListsSchema = z.object({
  employees: z.array(z.object({ id: z.number(), name: z.string() })),
  sites: z.array(z.object({ id: z.number(), name: z.string() })),
  sources: z.array(z.object({ id: z.number(), name: z.string() })),
  campaigns: z.array(z.object({ id: z.number(), name: z.string(), siteId: z.number().nullable() })),
});
export type AnalyticsLists = z.infer<typeof analyticsListsSchema>;

/** What happened to each lead/deal (visible to the admin: nothing fails silently). */
export const analyticsJobViewSchema = z.object({
  entityType: z.enum(['lead', 'deal']),
  entityId: z.number(),
  status: z.enum(['pending', 'uploaded', 'skipped', 'failed']),
  reason: z.string().nullable(),
  chatId: z.number().nullable(),
  attribution: z.string().nullable(),
  updatedAt: z.string(),
});
export type AnalyticsJobView = z.infer<typeof analyticsJobViewSchema>;
