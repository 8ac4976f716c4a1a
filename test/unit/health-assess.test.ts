import { describe, expect, it } from 'vitest';
import { assessHealth, causeOf, type HealthFacts } from '../../server/domain/health';
import { HEALTH_AREAS } from '../../server/contracts/health';

/** «Состояние» judged from facts (issue #16): what is ok, a warning or an error, and in which order. */
const base = (): HealthFacts => ({
  checkedAt: '2026-01-01T00:00:00.000Z',
  token: { status: 'active' },
  uis: { linked: true, connection: 'active', channels: [{ channelId: '7', name: 'WhatsApp +7 495', type: 'whatsapp', status: 'active', lineId: '1' }] },
  lines: [{ lineId: '1', lineName: 'Продажи', channelName: 'WhatsApp +7 495', channelType: 'whatsapp', binding: 'active', uis: 'active', portal: { active: true, configured: true, error: false }, connectorUrl: null }],
  linesError: null,
  queues: HEALTH_AREAS.map((area) => ({ area, depth: 0, oldestSeconds: null, failed24h: 0 })),
  rest: { used: 0.1 },
  repairs: { recovered: 3, repaired: 1, lastReconcileAt: null, lastAuditAt: null, lastRepairAt: null },
  sources: [
    { source: 'jivo', enabled: false, connected: true, pending: 0, lastError: null },
    { source: 'amocrm', enabled: false, connected: false, pending: 0, lastError: null },
  ],
  failures: [],
  auditError: null,
});
const codes = (f: HealthFacts) => assessHealth(f).issues.map((i) => `${i.level}:${i.code}`);

describe('assessHealth', () => {
  it('everything working is ok with no issues; a switched-off source that is not connected is no problem', () => {
    const v = assessHealth(base());
    expect(v).toMatchObject({ level: 'ok', issues: [], token: { level: 'ok' }, rest: { level: 'ok' } });
    expect(v.queues.every((q) => q.level === 'ok')).toBe(true);
  });

  it.each([
    ['the token refused', (f: HealthFacts): void => { f.token.status = 'reauth-required'; }, ['error:TOKEN_REAUTH']],
    ['no UIS account', (f: HealthFacts): void => { f.uis = { linked: false, connection: null, channels: [] }; f.lines = []; }, ['warning:UIS_NOT_LINKED']],
    ['the adapter connection disabled', (f: HealthFacts): void => { f.uis.connection = 'disabled'; }, ['error:UIS_CONNECTION_OFF']],
    ['a bound channel removed', (f: HealthFacts): void => { f.uis.channels[0]!.status = 'removed'; }, ['error:CHANNEL_REMOVED']],
    ['another channel of the account disabled (no line depends on it)', (f: HealthFacts): void => { f.uis.channels.push({ channelId: '9', name: 'Avito', type: 'avito', status: 'disabled', lineId: null }); }, ['warning:CHANNEL_DISABLED']],
    ['another channel removed', (f: HealthFacts): void => { f.uis.channels.push({ channelId: '9', name: 'Avito', type: 'avito', status: 'removed', lineId: null }); }, []],
    ['the connector switched off on the line (our side)', (f: HealthFacts): void => { f.lines[0]!.binding = 'off'; }, ['error:LINE_OFF']],
    ['the connector inactive on the portal side', (f: HealthFacts): void => { f.lines[0]!.portal = { active: false, configured: true, error: false }; }, ['error:LINE_OFF']],
    ['a connector error', (f: HealthFacts): void => { f.lines[0]!.portal = { active: true, configured: true, error: true }; }, ['error:LINE_ERROR']],
    ['the portal not answering about lines', (f: HealthFacts): void => { f.linesError = 'NETWORK_ERROR'; }, ['warning:PORTAL_UNREACHABLE']],
    ['a queue waiting 4 min 59 s', (f: HealthFacts): void => { f.queues[0]!.oldestSeconds = 299; }, []],
    ['a queue waiting 5 min', (f: HealthFacts): void => { f.queues[0]!.oldestSeconds = 300; }, ['warning:QUEUE_SLOW']],
    ['a queue waiting 30 min', (f: HealthFacts): void => { f.queues[2]!.oldestSeconds = 1800; }, ['error:QUEUE_STUCK']],
    ['the REST bucket 80 % full', (f: HealthFacts): void => { f.rest.used = 0.8; }, ['warning:REST_BUSY']],
    ['the audit did not finish', (f: HealthFacts): void => { f.auditError = 'UIS Data API budget'; }, ['warning:AUDIT_INCOMPLETE']],
    ['amoCRM on but not connected', (f: HealthFacts): void => { f.sources[1]!.enabled = true; }, ['error:SOURCE_NOT_CONNECTED']],
    ['Jivo on with an error', (f: HealthFacts): void => { f.sources[0] = { ...f.sources[0]!, enabled: true, lastError: { code: 'UIS_REJECTED', message: 'x', at: 'a' } }; }, ['warning:SOURCE_ERROR']],
  ] as const)('%s', (_name, change, expected) => {
    const f = base();
    change(f);
    expect(codes(f)).toEqual(expected);
    expect(assessHealth(f).level).toBe(expected.length ? expected[0]!.split(':')[0] : 'ok');
  });

  it('a failure names its area and its own code; errors come before warnings', () => {
    const f = base();
    f.failures = [{ area: 'analytics', at: '2026-01-01T00:00:00.000Z', reason: 'UIS_REPORT_UNAVAILABLE: timeout' }];
    f.queues[2]!.failed24h = 1;
    f.uis.channels[0]!.status = 'disabled';
    const v = assessHealth(f);
    expect(v.issues.map((i) => i.code)).toEqual(['CHANNEL_DISABLED', 'AREA_FAILED']);
    expect(v.issues[1]).toMatchObject({ area: 'analytics', cause: 'UIS_REPORT_UNAVAILABLE', level: 'warning' });
    expect(v.queues[2]!.level).toBe('warning');
    expect(causeOf('gave up after 5 attempts: x')).toBeNull();
    expect(causeOf('NOT_ACTIVE_LINE')).toBe('NOT_ACTIVE_LINE');
    expect(causeOf('gave up after 3 attempts: QUERY_LIMIT_EXCEEDED: Too many requests')).toBe('QUERY_LIMIT_EXCEEDED');
  });
});
