import { z } from 'zod';

/** GET /api/portal: what our pages may know about the caller's portal. Never carries a secret. */
export const portalStatusSchema = z.enum(['installing', 'active', 'reauth-required', 'deleted']);
export type PortalStatus = z.infer<typeof portalStatusSchema>;

export const portalViewSchema = z.object({
  memberId: z.string(),
  domain: z.string(),
  status: portalStatusSchema,
  installedAt: z.string().nullable(),
  scopes: z.array(z.string()),
});
export type PortalView = z.infer<typeof portalViewSchema>;

/**
 * Every /api error answers this shape with a 4xx/5xx status; `field` names the request field at
 * fault and `reason` the remote side's own code (a UIS mnemonic) when the server knows them.
 */
export const apiErrorSchema = z.object({ error: z.string(), message: z.string(), field: z.string().optional(), reason: z.string().optional() });
export type ApiError = z.infer<typeof apiErrorSchema>;
