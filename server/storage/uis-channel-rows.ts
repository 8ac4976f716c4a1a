import type { UisChannel } from '../services/workspace-ports';

/**
 * uis_channels rows (migration 004) as both stores read and write them (SQLite:
 * uis-channel-repository.ts, PostgreSQL: pg/uis-channel-store.ts): pure mapping, no SQL.
 */
export interface UisChannelRow {
  member_id: string;
  channel_id: string;
  account_id: string;
  chat_channel_id: string | null;
  type: string;
  name: string;
  status: string;
  templates: string;
}

export const toUisChannel = (r: UisChannelRow): UisChannel => ({
  memberId: r.member_id,
  channelId: r.channel_id,
  accountId: r.account_id,
  chatChannelId: r.chat_channel_id,
  type: r.type,
  name: r.name,
  status: r.status,
  templates: parseTemplates(r.templates),
});

/** The row's columns (updated_at aside); templates as JSON text. */
export const uisChannelRow = (c: UisChannel): UisChannelRow => ({
  member_id: c.memberId,
  channel_id: c.channelId,
  account_id: c.accountId,
  chat_channel_id: c.chatChannelId,
  type: c.type,
  name: c.name,
  status: c.status,
  templates: JSON.stringify(c.templates),
});

/** Templates as stored: UIS's MessageTemplate (`{id, name, content: {text, …}}`, backfilled rows) or ours. */
export function parseTemplates(raw: string): UisChannel['templates'] {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    return [];
  }
  if (!Array.isArray(v)) return [];
  return v.flatMap((t: { id?: unknown; name?: unknown; text?: unknown; content?: { text?: unknown } & Record<string, unknown> }) => {
    const id = Number(t?.id);
    if (!Number.isInteger(id)) return [];
    const content = t.content && typeof t.content === 'object' ? t.content : {};
    const text = typeof t.text === 'string' ? t.text : typeof content.text === 'string' ? content.text : '';
    return [{ id, name: typeof t.name === 'string' ? t.name : String(id), text, content }];
  });
}
