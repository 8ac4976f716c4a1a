import { z } from 'zod';
import { portalStatusSchema } from './portal';

/**
 * «Состояние» (issue #16, «nothing fails silently»): is the integration working for this portal,
 * and if not, what does the admin do. Every problem is an issue with a stable `code`; the page
 * says the reason and the fix in its own words by that code (never the server's text). The same
 * figures, summed over portals and labelled by area, are in /metrics.
 */

/** The queues of durable work, one per area. */
export const HEALTH_AREAS = ['bridge-in', 'bridge-out', 'analytics', 'crm-rules', 'employee-sync', 'telephony', 'chat-sources', 'open-lines'] as const;
export type HealthArea = (typeof HEALTH_AREAS)[number];

export const healthLevelSchema = z.enum(['ok', 'warning', 'error']);
export type HealthLevel = z.infer<typeof healthLevelSchema>;

const uisState = z.enum(['active', 'disabled', 'removed', 'unknown']);

export const healthIssueSchema = z.object({
  /** What it concerns: a queue's area, or the token, the UIS link, a line, the REST budget, the loss audit, a chat source. */
  area: z.enum([...HEALTH_AREAS, 'token', 'uis', 'lines', 'rest', 'audit']),
  level: healthLevelSchema.exclude(['ok']),
  /** TOKEN_REAUTH, UIS_NOT_LINKED, UIS_CONNECTION_OFF, CHANNEL_DISABLED, CHANNEL_REMOVED, LINE_OFF, LINE_ERROR, PORTAL_UNREACHABLE, QUEUE_SLOW, QUEUE_STUCK, REST_BUSY, AREA_FAILED, AUDIT_INCOMPLETE, SOURCE_NOT_CONNECTED, SOURCE_ERROR */
  code: z.string(),
  /** What it is about, in the portal's names: a channel, a line, a chat source (jivo, amocrm). */
  subject: z.string().nullable(),
  /** For AREA_FAILED / SOURCE_ERROR: the failure's own code (the page words it when it knows it). */
  cause: z.string().nullable(),
  /** The failure's text as recorded (shown small, under the page's words). */
  detail: z.string().nullable(),
  at: z.string().nullable(),
});
export type HealthIssue = z.infer<typeof healthIssueSchema>;

export const healthQueueSchema = z.object({
  area: z.enum(HEALTH_AREAS),
  /** Items waiting now (due and not done). */
  depth: z.number().int().nonnegative(),
  /** How long the oldest of them has been waiting; null when none waits. */
  oldestSeconds: z.number().nonnegative().nullable(),
  /** Items that failed for good in the last 24 hours. */
  failed24h: z.number().int().nonnegative(),
  level: healthLevelSchema,
});
export type HealthQueue = z.infer<typeof healthQueueSchema>;

export const healthViewSchema = z.object({
  level: healthLevelSchema,
  checkedAt: z.string(),
  token: z.object({ status: portalStatusSchema, level: healthLevelSchema }),
  uis: z.object({
    linked: z.boolean(),
    /** The adapter connection as UIS last reported it; null when not linked. */
    connection: uisState.nullable(),
    /** The account's channels as UIS reports them: those bound to open lines (`lineId`) and the others (null). */
    channels: z.array(z.object({ channelId: z.string(), name: z.string(), type: z.string(), status: uisState, lineId: z.string().nullable() })),
  }),
  lines: z.array(
    z.object({
      lineId: z.string(),
      lineName: z.string().nullable(),
      channelName: z.string(),
      channelType: z.string(),
      binding: z.enum(['active', 'off']),
      uis: uisState,
      portal: z.object({ active: z.boolean(), configured: z.boolean(), error: z.boolean() }).nullable(),
      connectorUrl: z.string().nullable(),
    }),
  ),
  /** Bitrix24 did not answer about the lines (their portal side is unknown). */
  linesError: z.string().nullable(),
  queues: z.array(healthQueueSchema),
  /** Share of the portal's REST bucket in use now (0…1), as this server paces it. */
  rest: z.object({ used: z.number().min(0).max(1), level: healthLevelSchema }),
  /** What the bridge's reconcile and loss audit repaired (issue #11); null when not linked. */
  repairs: z
    .object({
      recovered: z.number(),
      repaired: z.number(),
      lastReconcileAt: z.string().nullable(),
      lastAuditAt: z.string().nullable(),
      lastRepairAt: z.string().nullable(),
    })
    .nullable(),
  sources: z.array(
    z.object({
      source: z.enum(['jivo', 'amocrm']),
      enabled: z.boolean(),
      connected: z.boolean(),
      pending: z.number(),
      level: healthLevelSchema,
    }),
  ),
  /** Everything not ok, errors first. */
  issues: z.array(healthIssueSchema),
});
export type HealthView = z.infer<typeof healthViewSchema>;
