import { z } from 'zod';

/**
 * Wire shape of Bitrix24 events as parsed from the form body (`auth[...]`, `data[...]` —
 * docs/facts/bitrix24.md#onappinstall, docs/facts/bitrix24.md#onappuninstall, docs/facts/bitrix24.md#event-delivery). Only what every event shares is strict here; each
 * handler validates its own `data`.
 */
const text = z.string().max(4096);

export const eventAuthSchema = z.object({
  member_id: z.string().regex(/^[0-9a-zA-Z]{8,64}$/, 'member_id must be the portal id'),
  application_token: z.string().min(1, 'application_token is required').max(256),
  domain: text.optional(),
  client_endpoint: text.optional(),
  server_endpoint: text.optional(),
  access_token: text.optional(),
  refresh_token: text.optional(),
  expires_in: z.coerce.number().optional(),
  scope: text.optional(),
  status: text.optional(),
  user_id: z.coerce.number().optional(),
});
export type EventAuth = z.infer<typeof eventAuthSchema>;

export const eventSchema = z.object({
  event: z
    .string()
    .regex(/^[A-Za-z0-9_]{3,64}$/, 'event must be an event code such as ONCRMLEADADD')
    .transform((s) => s.toUpperCase()),
  event_handler_id: z.coerce.number().optional(),
  data: z.unknown().optional(),
  ts: z.coerce.number().optional(),
  auth: eventAuthSchema,
});
export type BitrixEvent = z.infer<typeof eventSchema>;

/** ONAPPUNINSTALL: `data[CLEAN]=1` means the admin chose to delete the app's data. */
export const uninstallDataSchema = z.object({ CLEAN: z.coerce.number().optional(), LANGUAGE_ID: z.string().optional() }).loose();
