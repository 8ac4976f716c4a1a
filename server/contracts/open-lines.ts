import { z } from 'zod';
import { fieldMappingSchemaFor } from './crm-rules';

/**
 * «Открытые линии» tab (seed 002 «Интеграция с "Открытыми линиями"», seed 000): the switch, the
 * open lines bound to UIS channels with the state both sides report, and «Доп. поля» — UIS chat
 * fields (from Data API `get.chats_report`) written into text fields of the leads and deals Open
 * Lines create from UIS chats.
 */

/**
 * What a UIS chat can put into a Bitrix24 field. `communication_id` is «ID первой коммуникации»:
 * `chat:{chat_id}`, written once and never changed in an existing entity (seed 002).
 */
export const OPEN_LINE_VARIABLES = [
  'communication_id',
  'chat_id',
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
  'date',
] as const;
export type OpenLineVariable = (typeof OPEN_LINE_VARIABLES)[number];

export const openLineFieldSchema = fieldMappingSchemaFor(OPEN_LINE_VARIABLES);
export type OpenLineField = z.infer<typeof openLineFieldSchema>;

export const openLinesSettingsSchema = z
  .object({
    /** The tab's switch: «Доп. поля» are written while it is on. */
    enabled: z.boolean(),
    fields: z.array(openLineFieldSchema).max(100),
  })
  .strict();
export type OpenLinesSettings = z.infer<typeof openLinesSettingsSchema>;

const uisState = z.enum(['active', 'disabled', 'removed', 'unknown']);

/** An open line our connector drives, as both sides report it. */
export const openLineStateSchema = z.object({
  lineId: z.string(),
  /** The line's name in Bitrix24 (imopenlines.config.list.get); null when it could not be read. */
  lineName: z.string().nullable(),
  channelId: z.string(),
  channelName: z.string(),
  channelType: z.string(),
  /** Our binding: `off` when Bitrix24 switched the connector off on the line. */
  binding: z.enum(['active', 'off']),
  /** The channel as UIS reports it (PATCH /channel), and the adapter connection (PATCH /account). */
  uisStatus: uisState,
  /** imconnector.status of the line; null when Bitrix24 could not be asked. */
  portal: z.object({ active: z.boolean(), configured: z.boolean(), error: z.boolean() }).nullable(),
  lastError: z.string().nullable(),
  /** The contact center's page of this line's connector (opens in the portal window). */
  connectorUrl: z.string().nullable(),
});
export type OpenLineState = z.infer<typeof openLineStateSchema>;

/** What Open Lines did with a lead or deal they created from a UIS chat («Доп. поля»). */
export const openLineJobViewSchema = z.object({
  entityType: z.enum(['lead', 'deal']),
  entityId: z.number(),
  status: z.enum(['pending', 'done', 'skipped', 'failed']),
  uisChatId: z.string().nullable(),
  /** Bitrix24 field codes written. */
  written: z.array(z.string()),
  /** Why skipped or failed: a code and its text (`NOT_UIS_CHAT: …`). */
  reason: z.string().nullable(),
  updatedAt: z.string(),
});
export type OpenLineJobView = z.infer<typeof openLineJobViewSchema>;

export const openLinesViewSchema = z.object({
  settings: openLinesSettingsSchema,
  /** False until an admin saved the tab once (the settings are then the defaults). */
  saved: z.boolean(),
  updatedAt: z.string().nullable(),
  /** A UIS account is linked (lines need one). */
  linked: z.boolean(),
  lines: z.array(openLineStateSchema),
  /** Bitrix24 did not answer the line states (the lines are shown from our side only). */
  portalError: z.string().nullable(),
  /** The account's channels that cannot drive an open line (seed 002: SMS, Yandex). */
  notForOpenLines: z.array(z.object({ channelId: z.string(), name: z.string(), type: z.string() })),
  /** The contact center (where lines are connected), in the portal window. */
  contactCenterUrl: z.string().nullable(),
  /** The latest leads and deals the tab filled (or why not). */
  recent: z.array(openLineJobViewSchema),
});
export type OpenLinesView = z.infer<typeof openLinesViewSchema>;
