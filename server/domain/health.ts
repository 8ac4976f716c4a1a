import type { HealthIssue, HealthLevel, HealthView } from '../contracts/health';

/** A queue whose oldest waiting item is older than this is slow (warning), then stuck (error). */
export const QUEUE_SLOW_SECONDS = 5 * 60;
export const QUEUE_STUCK_SECONDS = 30 * 60;
/** The portal's REST bucket this full is busy: other work waits for it. */
export const REST_BUSY_SHARE = 0.8;

/** What «Состояние» is judged from (everything but the issues and levels). */
export type HealthFacts = Omit<HealthView, 'level' | 'issues' | 'token' | 'queues' | 'rest' | 'sources'> & {
  token: { status: HealthView['token']['status'] };
  queues: Array<Omit<HealthView['queues'][number], 'level'>>;
  rest: { used: number };
  sources: Array<Omit<HealthView['sources'][number], 'level'> & { lastError: { code: string; message: string; at: string } | null }>;
  /** The latest failure of each area in the last 24 hours. */
  failures: Array<{ area: HealthView['queues'][number]['area']; at: string; reason: string }>;
  auditError: string | null;
};

type Issue = HealthIssue;
const issue = (area: Issue['area'], level: Issue['level'], code: string, more: Partial<Pick<Issue, 'subject' | 'cause' | 'detail' | 'at'>> = {}): Issue => ({
  area,
  level,
  code,
  subject: more.subject ?? null,
  cause: more.cause ?? null,
  detail: more.detail ?? null,
  at: more.at ?? null,
});
const worst = (levels: HealthLevel[]): HealthLevel => (levels.includes('error') ? 'error' : levels.includes('warning') ? 'warning' : 'ok');
/**
 * The code in a recorded failure: the one a worker put first (`CODE: text`), else the first
 * `UPPER_CASE` code in it (`gave up after 5 attempts: QUERY_LIMIT_EXCEEDED: …`); null for plain text.
 */
export const causeOf = (reason: string): string | null =>
  /^([A-Z][A-Z0-9_]{2,})(?::|$)/.exec(reason.trim())?.[1] ?? /\b([A-Z][A-Z0-9]*_[A-Z0-9_]+)\b/.exec(reason)?.[1] ?? null;

function tokenIssues(f: HealthFacts): Issue[] {
  if (f.token.status === 'active') return [];
  if (f.token.status === 'installing') return [issue('token', 'warning', 'TOKEN_INSTALLING')];
  return [issue('token', 'error', f.token.status === 'deleted' ? 'TOKEN_DELETED' : 'TOKEN_REAUTH')];
}

function uisIssues(f: HealthFacts): Issue[] {
  if (!f.uis.linked) return [issue('uis', 'warning', 'UIS_NOT_LINKED')];
  const out: Issue[] = [];
  if (f.uis.connection === 'disabled' || f.uis.connection === 'removed') out.push(issue('uis', 'error', 'UIS_CONNECTION_OFF'));
  // a channel an open line depends on is an error; another one (the workspace's, the CRM rules') a warning
  for (const c of f.uis.channels) {
    if (c.status === 'disabled') out.push(issue('uis', c.lineId ? 'error' : 'warning', 'CHANNEL_DISABLED', { subject: c.name }));
    if (c.status === 'removed' && c.lineId) out.push(issue('uis', 'error', 'CHANNEL_REMOVED', { subject: c.name }));
  }
  return out;
}

function lineIssues(f: HealthFacts): Issue[] {
  const out: Issue[] = f.linesError ? [issue('lines', 'warning', 'PORTAL_UNREACHABLE', { detail: f.linesError })] : [];
  for (const l of f.lines) {
    const subject = l.lineName ?? l.lineId;
    if (l.binding === 'off' || (l.portal && !l.portal.active)) out.push(issue('lines', 'error', 'LINE_OFF', { subject }));
    else if (l.portal?.error) out.push(issue('lines', 'error', 'LINE_ERROR', { subject }));
  }
  return out;
}

function queueLevel(q: HealthFacts['queues'][number]): HealthLevel {
  if (q.oldestSeconds !== null && q.oldestSeconds >= QUEUE_STUCK_SECONDS) return 'error';
  if ((q.oldestSeconds !== null && q.oldestSeconds >= QUEUE_SLOW_SECONDS) || q.failed24h > 0) return 'warning';
  return 'ok';
}

function queueIssues(f: HealthFacts): Issue[] {
  const out: Issue[] = [];
  for (const q of f.queues) {
    if (q.oldestSeconds !== null && q.oldestSeconds >= QUEUE_SLOW_SECONDS) {
      out.push(issue(q.area, q.oldestSeconds >= QUEUE_STUCK_SECONDS ? 'error' : 'warning', q.oldestSeconds >= QUEUE_STUCK_SECONDS ? 'QUEUE_STUCK' : 'QUEUE_SLOW'));
    }
  }
  for (const x of f.failures) out.push(issue(x.area, 'warning', 'AREA_FAILED', { cause: causeOf(x.reason), detail: x.reason.slice(0, 300), at: x.at }));
  return out;
}

function sourceLevel(s: HealthFacts['sources'][number]): HealthLevel {
  if (!s.enabled) return 'ok';
  if (!s.connected) return 'error';
  return s.lastError ? 'warning' : 'ok';
}

function sourceIssues(f: HealthFacts): Issue[] {
  return f.sources.flatMap((s): Issue[] => {
    if (!s.enabled) return [];
    if (!s.connected) return [issue('chat-sources', 'error', 'SOURCE_NOT_CONNECTED', { subject: s.source })];
    if (s.lastError) return [issue('chat-sources', 'warning', 'SOURCE_ERROR', { subject: s.source, cause: s.lastError.code, detail: s.lastError.message.slice(0, 300), at: s.lastError.at })];
    return [];
  });
}

/**
 * The health view from the facts (issue #16): each part's level and every problem as an issue
 * with a stable code (the page says why and what to do by it), errors first. Pure.
 */
export function assessHealth(f: HealthFacts): HealthView {
  const restLevel: HealthLevel = f.rest.used >= REST_BUSY_SHARE ? 'warning' : 'ok';
  const issues = [
    ...tokenIssues(f),
    ...uisIssues(f),
    ...lineIssues(f),
    ...queueIssues(f),
    ...(restLevel === 'warning' ? [issue('rest', 'warning', 'REST_BUSY')] : []),
    ...(f.auditError ? [issue('audit', 'warning', 'AUDIT_INCOMPLETE', { detail: f.auditError.slice(0, 300) })] : []),
    ...sourceIssues(f),
  ].sort((a, b) => (a.level === b.level ? 0 : a.level === 'error' ? -1 : 1));
  return {
    level: worst(issues.map((i) => i.level)),
    checkedAt: f.checkedAt,
    token: { status: f.token.status, level: worst(tokenIssues(f).map((i) => i.level)) },
    uis: f.uis,
    lines: f.lines,
    linesError: f.linesError,
    queues: f.queues.map((q) => ({ ...q, level: queueLevel(q) })),
    rest: { used: f.rest.used, level: restLevel },
    repairs: f.repairs,
    sources: f.sources.map(({ lastError: _e, ...s }) => ({ ...s, level: sourceLevel({ ...s, lastError: _e }) })),
    issues,
  };
}
