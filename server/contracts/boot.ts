import { z } from 'zod';

/**
 * The boot block the server embeds into every page it renders
 * (`<script id="omni-boot" type="application/json">`). The page reads it before anything else.
 */
export const pageNameSchema = z.enum(['install', 'app', 'left-menu', 'crm-tab', 'connector']);
export type PageName = z.infer<typeof pageNameSchema>;

export const bootSchema = z.object({
  page: pageNameSchema,
  lang: z.enum(['ru', 'en']),
  /** Bearer token for our /api/* (short-lived, bound to the portal and the viewing user); null when the page could not be authenticated. */
  session: z.string().nullable(),
  memberId: z.string().nullable(),
  placement: z.string(),
  placementOptions: z.record(z.string(), z.unknown()),
  isAdmin: z.boolean(),
  /**
   * CRM tabs only: the viewing user's own portal token (the AUTH_ID the portal posted to the page,
   * verified with `profile`) and the portal's REST base from our records, so the page can read
   * the card's contact data with that user's rights without loading the frame SDK
   * (docs/facts/bitrix24-frame.md#frame-rest-request: the SDK itself sends `auth` in the JSON body to `https://DOMAIN/rest/`).
   */
  portalAuth: z.object({ accessToken: z.string(), expiresIn: z.number(), restUrl: z.string() }).optional(),
  /** Set when the server refused the page context (not opened from a portal, unverifiable credentials…). */
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
});
export type Boot = z.infer<typeof bootSchema>;
