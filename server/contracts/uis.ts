import { z } from 'zod';

/**
 * Linking a portal to a UIS account (Главная → «Аккаунт UIS»). Secrets go in, never come back:
 * the view carries only what an admin needs to see.
 */
export const uisProjectSchema = z.enum(['uis', 'comagic']);
export type UisProject = z.infer<typeof uisProjectSchema>;

export const uisLinkRequestSchema = z.object({
  project: uisProjectSchema,
  /** Login and password of a UIS account user with administrator rights (Chat API management). */
  login: z.string().trim().min(1, 'Enter the UIS login').max(200),
  password: z.string().min(1, 'Enter the password').max(200),
  /** Data API key (Account → User management → API key). */
  dataApiToken: z.string().trim().min(8, 'Enter the Data API key').max(256),
});
export type UisLinkRequest = z.infer<typeof uisLinkRequestSchema>;

const uisStatusSchema = z.enum(['active', 'disabled', 'removed', 'unknown']);

/**
 * What the Open Lines bridge needs an admin to know (issue #11): the connection and bound channels
 * UIS disabled, and what the reconcile and the loss audit found and relayed.
 */
export const bridgeHealthSchema = z.object({
  /** The adapter connection as UIS reports it (PATCH /account). */
  accountStatus: uisStatusSchema,
  /** Bound channels UIS has disabled or removed (PATCH / DELETE /channel). */
  channels: z.array(z.object({ channelId: z.string(), name: z.string(), type: z.string(), lineId: z.string(), status: uisStatusSchema })),
  /** UIS messages no callback brought, found in the Data API report and relayed. */
  recovered: z.number().int().nonnegative(),
  /** Relayed messages the open line did not hold, sent again. */
  repaired: z.number().int().nonnegative(),
  lastReconcileAt: z.string().nullable(),
  lastAuditAt: z.string().nullable(),
  lastRepairAt: z.string().nullable(),
  /** Why the last check did not finish (UIS unreachable, the Data API point budget…). */
  lastError: z.string().nullable(),
});
export type BridgeHealth = z.infer<typeof bridgeHealthSchema>;

export const uisLinkViewSchema = z.object({
  linked: z.boolean(),
  project: uisProjectSchema.nullable(),
  login: z.string().nullable(),
  /** UIS app (account) id the Data API reported. */
  accountId: z.string().nullable(),
  accountName: z.string().nullable(),
  linkedAt: z.string().nullable(),
  /** Where UIS sends chat callbacks for this portal (informational). */
  webhookUrl: z.string().nullable(),
  lastError: z.string().nullable(),
  /** The bridge's view of the link (GET only; null when not linked). */
  health: bridgeHealthSchema.nullable().optional(),
});
export type UisLinkView = z.infer<typeof uisLinkViewSchema>;
