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
  /** Set when the server refused the page context (not opened from a portal, unverifiable credentials…). */
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
});
export type Boot = z.infer<typeof bootSchema>;
