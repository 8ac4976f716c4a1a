import type { z } from 'zod';
import { crmRulesSettingsSchema, type CrmRulesSettings } from '../../server/contracts/crm-rules';
import {
  crmDirectorySchema,
  crmRulesViewSchema,
  templatePreviewSchema,
  type CrmDirectory,
  type CrmRulesKind,
  type CrmRulesView,
  type TemplatePreview,
} from '../../server/contracts/crm-settings';
import { apiRequest, ApiRequestError, type ApiContext } from './api-request';

const JSON_HEADERS = { Accept: 'application/json' };

/** Why a field cannot be saved; `field` is the settings path (`responsible.defaultUserId`, `funnels.primary.defaults.dealStageId`, …). */
export interface CrmRulesIssue {
  field: string;
  code: 'required' | 'values' | 'variable' | 'invalid';
  /** The schema's own message (English), shown when the page has no wording for the field. */
  message?: string;
}

/**
 * What stops these settings from being saved, one issue per field (the contract's schema). A
 * channel an open line drives is no issue: the server drops it when saving (the tab shows it off).
 */
export function crmRulesIssues(s: CrmRulesSettings): CrmRulesIssue[] {
  const found = new Map<string, CrmRulesIssue>();
  const parsed = crmRulesSettingsSchema.safeParse(s);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const field = issue.path.map(String).join('.') || '(settings)';
      if (found.has(field)) continue;
      const code: CrmRulesIssue['code'] = /^templates\./.test(field)
        ? 'variable'
        : issue.code === 'too_small' && field.endsWith('.values')
          ? 'values'
          : issue.code === 'custom' || issue.code === 'invalid_type'
            ? 'required'
            : 'invalid';
      found.set(field, { field, code, message: issue.message });
    }
  }
  return [...found.values()];
}

async function readJson<T>(res: Response, schema: z.ZodType<T>, what: string): Promise<T> {
  const parsed = schema.safeParse(await res.json().catch(() => null));
  if (!parsed.success) throw new ApiRequestError('BAD_RESPONSE', `The server sent an unexpected ${what}.`, res.status);
  return parsed.data;
}

export interface CrmRulesApi {
  get(kind: CrmRulesKind): Promise<CrmRulesView>;
  /** PUT (admins only); answers the saved view. @throws ApiRequestError (`VALIDATION_FAILED`, `NOT_ADMIN`, …) */
  save(kind: CrmRulesKind, settings: CrmRulesSettings): Promise<CrmRulesView>;
  directory(): Promise<CrmDirectory>;
  /** Reads the portal's CRM again (admins only). */
  refreshDirectory(): Promise<CrmDirectory>;
  preview(kind: CrmRulesKind, templates: { lead: string; deal: string }): Promise<TemplatePreview>;
}

export function createCrmRulesApi(ctx: ApiContext): CrmRulesApi {
  const send = (method: string, path: string, body?: unknown) =>
    apiRequest(ctx, path, {
      method,
      headers: body === undefined ? JSON_HEADERS : { ...JSON_HEADERS, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  return {
    get: async (kind) => readJson(await send('GET', `/api/crm-rules/${kind}`), crmRulesViewSchema, 'settings description'),
    save: async (kind, settings) => readJson(await send('PUT', `/api/crm-rules/${kind}`, settings), crmRulesViewSchema, 'settings description'),
    directory: async () => readJson(await send('GET', '/api/crm/directory'), crmDirectorySchema, 'CRM directory'),
    refreshDirectory: async () => readJson(await send('POST', '/api/crm/directory/refresh'), crmDirectorySchema, 'CRM directory'),
    preview: async (kind, templates) => readJson(await send('POST', '/api/crm-rules/preview', { kind, templates }), templatePreviewSchema, 'template preview'),
  };
}
