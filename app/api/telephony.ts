import type { z } from 'zod';
import { telephonyListsSchema, telephonyViewSchema, type TelephonyLists, type TelephonyView } from '../../server/contracts/telephony';
import { callTemplatePreviewSchema, telephonySettingsSchema, type CallTemplatePreview, type TelephonySettings } from '../../server/contracts/telephony-settings';
import { apiRequest, ApiRequestError, type ApiContext } from './api-request';

const JSON_HEADERS = { Accept: 'application/json' };

/** Why the «Телефония» settings cannot be saved, per settings path (the contract's schema). */
export interface TelephonyIssue {
  field: string;
  code: 'required' | 'values' | 'variable' | 'invalid';
  message?: string;
}

export function telephonyIssues(s: TelephonySettings): TelephonyIssue[] {
  const found = new Map<string, TelephonyIssue>();
  const parsed = telephonySettingsSchema.safeParse(s);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const field = issue.path.map(String).join('.') || '(settings)';
      if (found.has(field)) continue;
      const code: TelephonyIssue['code'] = /^templates\./.test(field)
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

export interface TelephonyApi {
  get(): Promise<TelephonyView>;
  /** PUT (admins only); answers the saved view. */
  save(settings: TelephonySettings): Promise<TelephonyView>;
  lists(): Promise<TelephonyLists>;
  preview(direction: 'in' | 'out', templates: { lead: string; deal: string }): Promise<CallTemplatePreview>;
  rotateHook(): Promise<TelephonyView>;
  syncLines(): Promise<TelephonyView>;
}

export function createTelephonyApi(ctx: ApiContext): TelephonyApi {
  const send = (method: string, path: string, body?: unknown) =>
    apiRequest(ctx, path, {
      method,
      headers: body === undefined ? JSON_HEADERS : { ...JSON_HEADERS, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  return {
    get: async () => readJson(await send('GET', '/api/telephony'), telephonyViewSchema, 'telephony settings'),
    save: async (settings) => readJson(await send('PUT', '/api/telephony', settings), telephonyViewSchema, 'telephony settings'),
    lists: async () => readJson(await send('GET', '/api/telephony/lists'), telephonyListsSchema, 'UIS lists'),
    preview: async (direction, templates) => readJson(await send('POST', '/api/telephony/preview', { direction, templates }), callTemplatePreviewSchema, 'template preview'),
    rotateHook: async () => readJson(await send('POST', '/api/telephony/hook/rotate'), telephonyViewSchema, 'telephony settings'),
    syncLines: async () => readJson(await send('POST', '/api/telephony/lines/sync'), telephonyViewSchema, 'telephony settings'),
  };
}
