import { z } from 'zod';

/**
 * «Синхронизация сотрудников» on the «Главная» tab (issue #6, seeds 001/002): Bitrix24 users ⇄ UIS
 * employees, a manual run (a server job the page polls), the 20-minute status import and the
 * daily sync, limited to chosen Bitrix24 users (none chosen = every active employee).
 */
export const employeeSyncSettingsSchema = z
  .object({
    /** «Импорт статусов»: every 20 minutes the synced UIS employees take their Bitrix24 state. */
    importStatuses: z.boolean(),
    /** «Синхронизация всех сотрудников»: a sync every 24 hours. */
    dailySync: z.boolean(),
    /** «Список сотрудников для синхронизации»: Bitrix24 user ids; empty = all. */
    userIds: z
      .array(z.number().int().positive())
      .max(5000)
      .refine((ids) => new Set(ids).size === ids.length, { message: 'Each user may be listed once' }),
  })
  .strict();
export type EmployeeSyncSettings = z.infer<typeof employeeSyncSettingsSchema>;

export const matchedBySchema = z.enum(['email', 'extension', 'name', 'created']);
export type MatchedBy = z.infer<typeof matchedBySchema>;

const person = { name: z.string(), email: z.string().nullable() };

export const employeeSyncResultSchema = z.object({
  /** Bitrix24 user ⇄ UIS employee, and what the run changed in UIS for that pair. */
  pairs: z.array(
    z.object({
      b24UserId: z.number(),
      b24Name: z.string(),
      uisEmployeeId: z.number(),
      uisName: z.string(),
      matchedBy: matchedBySchema,
      /** UIS fields the run wrote: `first_name`, `last_name`, `email`. */
      updated: z.array(z.string()),
    }),
  ),
  /** Bitrix24 users left without a UIS employee, and why (`no_last_name`, `ambiguous_name`, `uis_refused: …`). */
  unmatchedB24: z.array(z.object({ b24UserId: z.number(), ...person, reason: z.string() })),
  /** UIS employees no Bitrix24 user (of those synced) matched. */
  unmatchedUis: z.array(z.object({ uisEmployeeId: z.number(), ...person })),
  /** Bitrix24 users whose profile has no «Фамилия» (seed 001): never matched by name nor created in UIS. */
  noLastName: z.array(z.object({ b24UserId: z.number(), ...person })),
  /** UIS writes that failed for a matched pair (the pair stands; the update is retried next run). */
  problems: z.array(z.string()),
});
export type EmployeeSyncResult = z.infer<typeof employeeSyncResultSchema>;

export const employeeSyncRunSchema = z.object({
  id: z.number(),
  trigger: z.enum(['manual', 'daily']),
  status: z.enum(['running', 'done', 'failed']),
  /** Steps done of the steps known so far (reading both sides, then one per UIS write). */
  progress: z.object({ done: z.number(), total: z.number() }),
  startedAt: z.string(),
  finishedAt: z.string().nullable(),
  error: z.string().nullable(),
  result: employeeSyncResultSchema.nullable(),
});
export type EmployeeSyncRun = z.infer<typeof employeeSyncRunSchema>;

export const statusImportViewSchema = z.object({
  at: z.string(),
  updated: z.number(),
  unchanged: z.number(),
  error: z.string().nullable(),
});
export type StatusImportView = z.infer<typeof statusImportViewSchema>;

export const employeeSyncViewSchema = z.object({
  settings: employeeSyncSettingsSchema,
  /** The latest run (running or finished). */
  run: employeeSyncRunSchema.nullable(),
  /** The latest run that finished with a result (shown while a new run is in progress). */
  lastResult: employeeSyncRunSchema.nullable(),
  lastStatusImport: statusImportViewSchema.nullable(),
  /** When the next daily sync is due (dailySync on). */
  nextDailyAt: z.string().nullable(),
});
export type EmployeeSyncView = z.infer<typeof employeeSyncViewSchema>;
