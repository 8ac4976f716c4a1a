import type { Db } from './db';
import type { UisChannelRepository } from '../services/workspace-ports';
import { toUisChannel, uisChannelRow, type UisChannelRow } from './uis-channel-rows';

/** SQLite store of the adapter channels UIS announced (migration 004; rows: uis-channel-rows.ts). */
export function createSqliteUisChannelRepository(db: Db, now: () => number = Date.now): UisChannelRepository {
  const upsert = db.prepare(`
    INSERT INTO uis_channels (member_id, channel_id, account_id, chat_channel_id, type, name, status, templates, updated_at)
    VALUES (@member_id, @channel_id, @account_id, @chat_channel_id, @type, @name, @status, @templates, @updated_at)
    ON CONFLICT (member_id, channel_id) DO UPDATE SET account_id = excluded.account_id, chat_channel_id = excluded.chat_channel_id,
      type = excluded.type, name = excluded.name, status = excluded.status, templates = excluded.templates, updated_at = excluded.updated_at`);
  const remove = db.prepare(`UPDATE uis_channels SET status = 'removed', updated_at = ? WHERE member_id = ? AND channel_id = ?`);
  const list = db.prepare(`SELECT * FROM uis_channels WHERE member_id = ? AND account_id = ? AND status = 'active' ORDER BY CAST(channel_id AS INTEGER)`);
  const one = db.prepare('SELECT * FROM uis_channels WHERE member_id = ? AND channel_id = ?');
  return {
    upsert(c) {
      upsert.run({ ...uisChannelRow(c), updated_at: new Date(now()).toISOString() });
    },
    markRemoved(memberId, channelId) {
      remove.run(new Date(now()).toISOString(), memberId, channelId);
    },
    list(memberId, accountId) {
      return (list.all(memberId, accountId) as UisChannelRow[]).map(toUisChannel);
    },
    get(memberId, channelId) {
      const r = one.get(memberId, channelId) as UisChannelRow | undefined;
      return r ? toUisChannel(r) : null;
    },
  };
}
