import type { Db } from './db';
import type { BridgeRecoveryRepository, RecoveryCounters } from '../services/bridge/ports';
import { boundAtOf, str, type BridgeRow } from './bridge-rows';

type Row = BridgeRow;

/** SQLite store of the bridge's reconcile and loss audit (migration 017). */
export function createSqliteBridgeRecoveryRepository(db: Db, now: () => number = Date.now): BridgeRecoveryRepository {
  const iso = () => new Date(now()).toISOString();
  const q = {
    targets: db.prepare(`SELECT line_id, channel_id, bound_at, reconciled_till, updated_at FROM bridge_lines WHERE member_id = ? AND status = 'active' ORDER BY CAST(line_id AS INTEGER)`),
    setTill: db.prepare('UPDATE bridge_lines SET reconciled_till = ? WHERE member_id = ? AND line_id = ? AND channel_id = ?'),
    // a chat is due when it changed after its last audit (both ISO strings of the same clock)
    toAudit: db.prepare(
      `SELECT c.uis_chat_id, c.channel_id, c.line_id, c.b24_chat_id FROM bridge_chats c
       JOIN bridge_lines l ON l.member_id = c.member_id AND l.channel_id = c.channel_id AND l.line_id = c.line_id AND l.status = 'active'
       WHERE c.member_id = ? AND c.b24_chat_id IS NOT NULL AND (c.audited_at IS NULL OR c.audited_at < c.updated_at)
       ORDER BY c.audited_at IS NOT NULL, c.audited_at, c.updated_at LIMIT ?`,
    ),
    audited: db.prepare('UPDATE bridge_chats SET audited_at = ? WHERE member_id = ? AND uis_chat_id = ?'),
    connection: db.prepare('SELECT status FROM uis_connections WHERE member_id = ? AND connection_id = ?').pluck(),
    setConnection: db.prepare(
      `INSERT INTO uis_connections (member_id, connection_id, name, status, updated_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (member_id, connection_id) DO UPDATE SET name = COALESCE(excluded.name, name), status = excluded.status, updated_at = excluded.updated_at`,
    ),
    counters: db.prepare('SELECT * FROM bridge_recovery WHERE member_id = ?'),
    ensure: db.prepare(`INSERT INTO bridge_recovery (member_id, updated_at) VALUES (?, ?) ON CONFLICT (member_id) DO NOTHING`),
    addRecovered: db.prepare('UPDATE bridge_recovery SET recovered = recovered + ?, last_repair_at = ?, updated_at = ? WHERE member_id = ?'),
    addRepaired: db.prepare('UPDATE bridge_recovery SET repaired = repaired + ?, last_repair_at = ?, updated_at = ? WHERE member_id = ?'),
    noteReconcile: db.prepare('UPDATE bridge_recovery SET last_reconcile_at = COALESCE(?, last_reconcile_at), last_error = ?, updated_at = ? WHERE member_id = ?'),
    noteAudit: db.prepare('UPDATE bridge_recovery SET last_audit_at = COALESCE(?, last_audit_at), last_error = ?, updated_at = ? WHERE member_id = ?'),
  };
  const markAudited = db.transaction((memberId: string, ids: string[], at: string) => {
    for (const id of ids) q.audited.run(at, memberId, id);
  });
  return {
    targets: (memberId) =>
      (q.targets.all(memberId) as Row[]).map((r) => ({
        lineId: String(r.line_id),
        channelId: String(r.channel_id),
        boundAt: boundAtOf(r.bound_at, r.updated_at),
        reconciledTill: r.reconciled_till === null || r.reconciled_till === undefined ? null : Number(r.reconciled_till),
      })),
    setReconciledTill: (memberId, lineId, channelId, till) => void q.setTill.run(till, memberId, lineId, channelId),
    chatsToAudit: (memberId, limit) =>
      (q.toAudit.all(memberId, limit) as Row[]).map((r) => ({ uisChatId: String(r.uis_chat_id), channelId: String(r.channel_id), lineId: String(r.line_id), b24ChatId: String(r.b24_chat_id) })),
    markAudited: (memberId, ids, at) => (ids.length ? markAudited(memberId, ids, at) : undefined),
    linksOfChats(memberId, ids) {
      if (!ids.length) return [];
      const rows = db
        .prepare(
          `SELECT key, uis_chat_id, state, b24_chat_id, b24_session_id FROM bridge_messages
           WHERE member_id = ? AND origin = 'uis' AND uis_chat_id IN (${ids.map(() => '?').join(',')})`,
        )
        .all(memberId, ...ids) as Row[];
      return rows.map((r) => ({ key: String(r.key), uisChatId: String(r.uis_chat_id), state: r.state as 'relayed', b24ChatId: str(r.b24_chat_id), b24SessionId: str(r.b24_session_id) }));
    },
    connectionStatus: (memberId, connectionId) => (q.connection.get(memberId, connectionId) as string | undefined) ?? null,
    setConnection: (memberId, connectionId, c) => void q.setConnection.run(memberId, connectionId, c.name ?? null, c.status, iso()),
    counters(memberId): RecoveryCounters {
      const r = q.counters.get(memberId) as Row | undefined;
      return {
        recovered: Number(r?.recovered ?? 0),
        repaired: Number(r?.repaired ?? 0),
        lastReconcileAt: str(r?.last_reconcile_at),
        lastAuditAt: str(r?.last_audit_at),
        lastRepairAt: str(r?.last_repair_at),
        lastError: str(r?.last_error),
      };
    },
    count(memberId, field, n) {
      if (n <= 0) return;
      const at = iso();
      q.ensure.run(memberId, at);
      (field === 'recovered' ? q.addRecovered : q.addRepaired).run(n, at, at, memberId);
    },
    noteRun(memberId, kind, error) {
      const at = iso();
      q.ensure.run(memberId, at);
      (kind === 'reconcile' ? q.noteReconcile : q.noteAudit).run(error ? null : at, error, at, memberId);
    },
  };
}
