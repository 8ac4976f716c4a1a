import { z } from 'zod';

/**
 * amoCRM webhook bodies (crm_platform/webhooks-format; docs/facts/chat-sources.md#amocrm-talk-hook): form-encoded with
 * PHP-style brackets, parsed by the body parser into `{account: {id, subdomain}, talk: {update:
 * [{…}], add: [{…}]}}`; every value a string ("0"/"1" for flags), several items per request.
 * Anything else in the body (other entities, `_links`) is ignored.
 */
const digits = z.union([z.string().regex(/^\d{1,18}$/), z.number().int().nonnegative()]).transform(Number);
const optDigits = z
  .union([z.string().regex(/^\d{0,18}$/), z.number().int().nonnegative()])
  .nullish()
  .transform((v) => (v === null || v === undefined || v === '' ? null : Number(v)));
const flag = z.union([z.enum(['0', '1', 'true', 'false']), z.boolean(), z.number()]).transform((v) => v === '1' || v === 'true' || v === true || v === 1);

export const amoTalkHookSchema = z.object({
  talk_id: digits,
  created_at: digits,
  updated_at: digits,
  contact_id: optDigits,
  entity_id: optDigits,
  entity_type: z.string().max(32).nullish().transform((v) => v || null),
  is_in_work: flag,
  origin: z.string().max(200).nullish().transform((v) => v ?? ''),
});
export type AmoTalkHook = z.infer<typeof amoTalkHookSchema>;

const items = z
  .union([z.array(amoTalkHookSchema), z.record(z.string().regex(/^\d{1,3}$/), amoTalkHookSchema).transform((r) => Object.values(r))])
  .optional()
  .transform((v) => v ?? []);

export const amoHookBodySchema = z.object({
  account: z.object({ id: digits, subdomain: z.string().max(100).optional() }),
  talk: z.object({ add: items, update: items }).optional(),
});

/** The talk items of a webhook body (added and updated alike), or why it cannot be read. */
export function parseAmoHook(body: unknown): { accountId: number; talks: AmoTalkHook[] } | { invalid: string } {
  const p = amoHookBodySchema.safeParse(body);
  if (!p.success) return { invalid: p.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ').slice(0, 500) };
  const talks = [...(p.data.talk?.add ?? []), ...(p.data.talk?.update ?? [])];
  return { accountId: p.data.account.id, talks };
}
