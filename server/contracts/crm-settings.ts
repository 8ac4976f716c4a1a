import { z } from 'zod';
import { crmRulesSettingsSchema, UIS_VARIABLES } from './crm-rules';

/**
 * What the «Чаты» / «Оффлайн заявки» tabs exchange with the server besides the rules themselves
 * (server/contracts/crm-rules.ts): the saved view, the portal's CRM directory the selects offer,
 * and the template preview.
 */

export const CRM_RULES_KINDS = ['chats', 'offline'] as const;
export const crmRulesKindSchema = z.enum(CRM_RULES_KINDS);
export type CrmRulesKind = z.infer<typeof crmRulesKindSchema>;

/** A UIS channel an open line drives (the bridge's binding): the Chats rules may not process its type. */
export const drivenChannelSchema = z.object({ type: z.string(), name: z.string(), lineId: z.string() });
export type DrivenChannel = z.infer<typeof drivenChannelSchema>;

export const crmRulesViewSchema = z.object({
  kind: crmRulesKindSchema,
  settings: crmRulesSettingsSchema,
  /** False until an admin saved this tab once (the settings are then the defaults). */
  saved: z.boolean(),
  updatedAt: z.string().nullable(),
  /** Chats only: channels driven by Open Lines right now (empty for offline requests). */
  openLines: z.array(drivenChannelSchema),
});
export type CrmRulesView = z.infer<typeof crmRulesViewSchema>;

const named = z.object({ id: z.string(), name: z.string() });

/** A Bitrix24 text field a UIS value can be written into («Сопоставление полей»). */
export const crmTextFieldSchema = z.object({ id: z.string(), name: z.string(), custom: z.boolean() });
export type CrmTextField = z.infer<typeof crmTextFieldSchema>;

/** The portal's CRM as the settings need it, read with one `batch` and cached per portal. */
export const crmDirectorySchema = z.object({
  leadStatuses: z.array(named.extend({ semantics: z.enum(['process', 'success', 'failure']) })),
  dealCategories: z.array(
    z.object({
      id: z.number().int().min(0),
      name: z.string(),
      stages: z.array(named.extend({ semantics: z.enum(['process', 'success', 'failure']) })),
    }),
  ),
  /** Active employees; `email` is only sent to administrators. */
  users: z.array(z.object({ id: z.number().int().positive(), name: z.string(), lastName: z.string(), email: z.string().nullable() })),
  fields: z.object({
    lead: z.array(crmTextFieldSchema),
    deal: z.array(crmTextFieldSchema),
    contact: z.array(crmTextFieldSchema),
    company: z.array(crmTextFieldSchema),
  }),
  fetchedAt: z.string(),
});
export type CrmDirectory = z.infer<typeof crmDirectorySchema>;

/** POST /api/crm-rules/preview: the lead and deal titles the templates give on the example data. */
export const templatePreviewRequestSchema = z.object({
  kind: crmRulesKindSchema,
  templates: z.object({ lead: z.string().max(255), deal: z.string().max(255) }),
});
export type TemplatePreviewRequest = z.infer<typeof templatePreviewRequestSchema>;
export const templatePreviewSchema = z.object({
  lead: z.string(),
  deal: z.string(),
  /** The example values the preview used, by variable. */
  example: z.partialRecord(z.enum(UIS_VARIABLES), z.string()),
});
export type TemplatePreview = z.infer<typeof templatePreviewSchema>;
