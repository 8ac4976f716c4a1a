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
});
export type UisLinkView = z.infer<typeof uisLinkViewSchema>;
