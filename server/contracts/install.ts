import { z } from 'zod';

/** One install step as the install page shows it. */
export const stepStatusSchema = z.enum(['pending', 'running', 'done', 'failed']);
export type StepStatus = z.infer<typeof stepStatusSchema>;

export const stepViewSchema = z.object({
  id: z.string(),
  label: z.object({ ru: z.string(), en: z.string() }),
  status: stepStatusSchema,
  /** What the step did: "created", "already present", "re-bound"… */
  detail: z.string().optional(),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
});
export type StepView = z.infer<typeof stepViewSchema>;

/**
 * POST /api/install/run answers `application/x-ndjson`: one progress line per step change,
 * then exactly one `done` line.
 */
export const installProgressSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('plan'), steps: z.array(stepViewSchema) }),
  z.object({ type: z.literal('step'), step: stepViewSchema }),
  z.object({ type: z.literal('done'), ok: z.boolean() }),
]);
export type InstallProgress = z.infer<typeof installProgressSchema>;
