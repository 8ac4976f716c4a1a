import { openLinesSettingsSchema, openLinesViewSchema, type OpenLinesSettings, type OpenLinesView } from '../../server/contracts/open-lines';
import { apiRequest, ApiRequestError, type ApiContext } from './api-request';

const PATH = '/api/open-lines';
const JSON_HEADERS = { Accept: 'application/json' };

async function readView(res: Response): Promise<OpenLinesView> {
  const parsed = openLinesViewSchema.safeParse(await res.json().catch(() => null));
  if (!parsed.success) throw new ApiRequestError('BAD_RESPONSE', 'The server sent an unexpected Open Lines description.', res.status);
  return parsed.data;
}

/** GET /api/open-lines: the tab's settings, the lines our connector drives (both sides), recent outcomes. */
export async function getOpenLines(ctx: ApiContext): Promise<OpenLinesView> {
  return readView(await apiRequest(ctx, PATH, { headers: JSON_HEADERS }));
}

/** PUT /api/open-lines/settings (admins). @throws ApiRequestError VALIDATION_FAILED, NOT_ADMIN, … */
export async function saveOpenLines(ctx: ApiContext, settings: OpenLinesSettings): Promise<OpenLinesView> {
  const res = await apiRequest(ctx, `${PATH}/settings`, { method: 'PUT', headers: { ...JSON_HEADERS, 'Content-Type': 'application/json' }, body: JSON.stringify(settings) });
  return readView(res);
}

/** Why the settings cannot be saved, one issue per field path (`fields.0.b24Field`…): the contract's schema. */
export function openLinesIssues(s: OpenLinesSettings): Array<{ field: string; message: string }> {
  const parsed = openLinesSettingsSchema.safeParse(s);
  if (parsed.success) return [];
  const seen = new Map<string, string>();
  for (const i of parsed.error.issues) {
    const field = i.path.map(String).join('.') || '(settings)';
    if (!seen.has(field)) seen.set(field, i.message);
  }
  return [...seen].map(([field, message]) => ({ field, message }));
}
