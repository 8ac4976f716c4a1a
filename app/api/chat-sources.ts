import { z } from 'zod';
import {
  amoFieldsSchema,
  amoSettingsSchema,
  amoViewSchema,
  chatSourcesViewSchema,
  jivoSettingsSchema,
  jivoViewSchema,
  sourceItemViewSchema,
  type AmoFields,
  type AmoSettings,
  type AmoView,
  type ChatSource,
  type ChatSourcesView,
  type JivoSettings,
  type JivoView,
  type MappingRow,
  type SourceItemView,
} from '../../server/contracts/chat-sources';
import { apiRequest, ApiRequestError, type ApiContext } from './api-request';

const PATH = '/api/chat-sources';
const JSON_HEADERS = { Accept: 'application/json' };

/** One problem of a source's draft, keyed by field: `employeeId`, `defaults.siteId`, `messengers.<key>`, `sessionField`, … */
export interface SourceIssue {
  field: string;
  code: 'required' | 'siteMissing' | 'invalid';
}

type SourceSettings = JivoSettings | AmoSettings;

/** Only the choice the traffic type uses kept; mapping rows without a choice dropped; keys trimmed. */
export function normalizeSource<T extends SourceSettings>(s: T): T {
  const keep = (a: MappingRow | T['defaults']) =>
    s.trafficType === 'campaign' ? { sourceId: null, siteId: null, campaignId: a.campaignId ?? null } : { sourceId: a.sourceId ?? null, siteId: a.siteId ?? null, campaignId: null };
  const messengers: Record<string, MappingRow> = {};
  for (const [key, row] of Object.entries(s.messengers)) {
    const k = key.trim();
    const kept = keep(row);
    if (k && (kept.sourceId !== null || kept.siteId !== null || kept.campaignId !== null)) messengers[k] = { ...kept, label: row.label?.trim() || null };
  }
  return { ...s, defaults: keep(s.defaults), messengers };
}

export function sourceIssues(source: ChatSource, draft: SourceSettings): SourceIssue[] {
  const s = normalizeSource(draft);
  const found = new Map<string, SourceIssue>();
  const parsed = (source === 'jivo' ? jivoSettingsSchema : amoSettingsSchema).safeParse(s);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const [head, second] = issue.path.map(String);
      const field = head === 'messengers' && second ? `messengers.${second}` : issue.path.map(String).join('.') || '(settings)';
      if (!found.has(field)) found.set(field, { field, code: issue.code === 'custom' || issue.code === 'invalid_type' ? 'required' : 'invalid' });
    }
  }
  if (s.trafficType === 'source') {
    for (const [key, row] of Object.entries(s.messengers)) {
      const field = `messengers.${key}`;
      if (row.sourceId !== null && row.siteId === null && !found.has(field)) found.set(field, { field, code: 'siteMissing' });
    }
  }
  return [...found.values()];
}

async function readJson<T>(res: Response, schema: z.ZodType<T>, what: string): Promise<T> {
  const parsed = schema.safeParse(await res.json().catch(() => null));
  if (!parsed.success) throw new ApiRequestError('BAD_RESPONSE', `The server sent an unexpected ${what}.`, res.status);
  return parsed.data;
}

async function put<T>(ctx: ApiContext, path: string, body: unknown, schema: z.ZodType<T>): Promise<T> {
  const res = await apiRequest(ctx, path, { method: 'PUT', headers: { ...JSON_HEADERS, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  return readJson(res, schema, 'chat source description');
}

export interface ChatSourcesApi {
  get(): Promise<ChatSourcesView>;
  saveJivo(s: JivoSettings): Promise<JivoView>;
  saveAmo(s: AmoSettings): Promise<AmoView>;
  /** «Подключить учетную запись»: the amoCRM chooser URL to open. */
  connectAmo(req: { name: string; domain: string }): Promise<{ authorizeUrl: string }>;
  disconnectAmo(): Promise<void>;
  amoFields(): Promise<AmoFields>;
  items(source: ChatSource): Promise<SourceItemView[]>;
}

export function createChatSourcesApi(ctx: ApiContext): ChatSourcesApi {
  const invalid = (issues: SourceIssue[]) => new ApiRequestError('VALIDATION_FAILED', issues.map((i) => `${i.field}: ${i.code}`).join('; '));
  return {
    get: async () => readJson(await apiRequest(ctx, PATH, { headers: JSON_HEADERS }), chatSourcesViewSchema, 'chat sources description'),
    async saveJivo(s) {
      const body = normalizeSource(s);
      const issues = sourceIssues('jivo', body);
      if (issues.length) throw invalid(issues);
      return put(ctx, `${PATH}/jivo`, body, jivoViewSchema);
    },
    async saveAmo(s) {
      const body = normalizeSource(s);
      const issues = sourceIssues('amocrm', body);
      if (issues.length) throw invalid(issues);
      return put(ctx, `${PATH}/amocrm`, body, amoViewSchema);
    },
    async connectAmo(req) {
      const res = await apiRequest(ctx, `${PATH}/amocrm/connect`, { method: 'POST', headers: { ...JSON_HEADERS, 'Content-Type': 'application/json' }, body: JSON.stringify(req) });
      return readJson(res, z.object({ authorizeUrl: z.string().url() }), 'amoCRM connection link');
    },
    async disconnectAmo() {
      await apiRequest(ctx, `${PATH}/amocrm/connection`, { method: 'DELETE' });
    },
    amoFields: async () => readJson(await apiRequest(ctx, `${PATH}/amocrm/fields`, { headers: JSON_HEADERS }), amoFieldsSchema, 'list of amoCRM fields'),
    items: async (source) => readJson(await apiRequest(ctx, `${PATH}/items?source=${source}`, { headers: JSON_HEADERS }), z.array(sourceItemViewSchema), 'list of conversations'),
  };
}
