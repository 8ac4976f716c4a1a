import { crmRulesSettingsSchema, type CrmRulesSettings } from '../contracts/crm-rules';
import { crmDirectorySchema, type CrmDirectory } from '../contracts/crm-settings';

/**
 * Rows of the «Чаты» / «Оффлайн заявки» rules and the CRM directory cache (migration 008) as both
 * stores read them (SQLite: crm-rules-repository.ts, PostgreSQL: pg/crm-rules-store.ts): pure
 * mapping, no SQL.
 */

/** The stored rules (throws when they no longer parse as settings, as the SQLite repository always did). */
export const parseCrmRules = (json: string): CrmRulesSettings => crmRulesSettingsSchema.parse(JSON.parse(json));

/** The cached directory; null when written by an older shape (it is simply refetched). */
export function parseCrmDirectory(json: string): CrmDirectory | null {
  const parsed = crmDirectorySchema.safeParse(JSON.parse(json));
  return parsed.success ? parsed.data : null;
}

/**
 * Whether stored rules have the tab on, as SQLite's `json_extract(settings, '$.enabled') = 1` answers:
 * JSON true or the number 1 (malformed JSON throws, as json_extract does).
 */
export function crmRulesEnabled(json: string): boolean {
  const v = (JSON.parse(json) as { enabled?: unknown } | null)?.enabled;
  return v === true || v === 1;
}

/** The stored rules without `channel` in their channel list, as JSON; null when they do not have it (nothing to write). */
export function crmRulesWithoutChannel(json: string, channel: string): string | null {
  const s = parseCrmRules(json);
  if (!s.channels.some((c) => c === channel)) return null;
  return JSON.stringify({ ...s, channels: s.channels.filter((c) => c !== channel) });
}
