import type { Db } from './db';
import type { UisChannel, UisChannelRepository } from '../services/workspace-ports';

interface Row {
  member_id: string;
  channel_id: string;
  account_id: string;
  chat_channel_id: string | null;
  type: string;
  name: string;
  status: string;
  templates: string;
}

/** SQLite store of the adapter channels UIS announced (migration 004). */
export function createSqliteUisChannelRepository(db: Db, now: () => number = Date.now): UisChannelRepository {
  const upsert = db.prepare(`
    INSERT INTO uis_channels (member_id, channel_id, account_id, chat_channel_id, type, name, status, templates, updated_at)
    VALUES (@member_id, @channel_id, @account_id, @chat_channel_id, @type, @name, @status, @templates, @updated_at)
    ON CONFLICT (member_id, channel_id) DO UPDATE SET account_id = excluded.account_id, chat_channel_id = excluded.chat_channel_id,
      type = excluded.type, name = excluded.name, status = excluded.status, templates = excluded.templates, updated_at = excluded.updated_at`);
  const remove = db.prepare(`UPDATE uis_channels SET status = 'removed', updated_at = ? WHERE member_id = ? AND channel_id = ?`);
  const list = db.prepare(`SELECT * FROM uis_channels WHERE member_id = ? AND account_id = ? AND status = 'active' ORDER BY CAST(channel_id AS INTEGER)`);
  const one = db.prepare('SELECT * FROM uis_channels WHERE member_id = ? AND channel_id = ?');
  const toChannel = (r: Row): UisChannel => ({
    memberId: r.member_id,
    channelId: r.channel_id,
    accountId: r.account_id,
    chatChannelId: r.chat_channel_id,
    type: r.type,
    name: r.name,
    status: r.status,
    templates: parseTemplates(r.templates),
  });
  return {
    upsert(c) {
      upsert.run({
        member_id: c.memberId,
        channel_id: c.channelId,
        account_id: c.accountId,
        chat_channel_id: c.chatChannelId,
        type: c.type,
        name: c.name,
        status: c.status,
        templates: JSON.stringify(c.templates),
        updated_at: new Date(now()).toISOString(),
      });
    },
    markRemoved(memberId, channelId) {
      remove.run(new Date(now()).toISOString(), memberId, channelId);
    },
    list(memberId, accountId) {
      return (list.all(memberId, accountId) as Row[]).map(toChannel);
    },
    get(memberId, channelId) {
      const r = one.get(memberId, channelId) as Row | undefined;
      return r ? toChannel(r) : null;
    },
  };
}

/** Templates as stored: UIS's MessageTemplate (`{id, name, content: {text, …}}`, backfilled rows) or ours. */
function parseTemplates(raw: string): UisChannel['templates'] {
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
