import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

/** Prometheus metrics of one app instance (a registry per instance, so tests do not share state). */
export interface Metrics {
  registry: Registry;
  httpRequests: Counter<'route' | 'status'>;
  restRequests: Counter<'outcome'>;
  tokenRefreshes: Counter<'outcome'>;
  events: Counter<'event' | 'outcome'>;
  portals: Gauge<'status'>;
  /** Inbound messages the bridge's reconcile / loss audit queued (issue #11), by area: missed-callback, open-line. */
  bridgeRepairs: Counter<'area'>;
  /** «Состояние» (issue #16), summed over portals, set at each scrape: see server/services/health/metrics.ts. */
  health: {
    queueDepth: Gauge<'area'>;
    queueOldestSeconds: Gauge<'area'>;
    failed24h: Gauge<'area'>;
    restBudgetUsedMax: Gauge;
    openLines: Gauge<'state'>;
    boundChannels: Gauge<'status'>;
    uisConnections: Gauge<'status'>;
    amocrmAccounts: Gauge<'status'>;
    bridgeAudit: Gauge<'state'>;
    chatSourceErrors: Gauge<'source'>;
  };
}

export function createMetrics(opts: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (opts.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: 'omni_' });
  const registers = [registry];
  return {
    registry,
    httpRequests: new Counter({ name: 'omni_http_requests_total', help: 'HTTP requests served, by route and status', labelNames: ['route', 'status'], registers }),
    restRequests: new Counter({
      name: 'omni_b24_rest_requests_total',
      help: 'HTTP requests sent to Bitrix24 portals, by outcome (ok, error, limited, expired, network)',
      labelNames: ['outcome'],
      registers,
    }),
    tokenRefreshes: new Counter({ name: 'omni_b24_token_refreshes_total', help: 'OAuth refresh grants, by outcome', labelNames: ['outcome'], registers }),
    events: new Counter({ name: 'omni_b24_events_total', help: 'Bitrix24 events received, by event and outcome', labelNames: ['event', 'outcome'], registers }),
    portals: new Gauge({ name: 'omni_portals', help: 'Portals by status', labelNames: ['status'], registers }),
    bridgeRepairs: new Counter({
      name: 'omni_bridge_repaired_messages_total',
      help: 'UIS messages the bridge found missing and queued again: missed-callback (no callback brought it; from the Data API report), open-line (relayed but not in the open line)',
      labelNames: ['area'],
      registers,
    }),
    health: {
      queueDepth: new Gauge({ name: 'omni_queue_depth', help: 'Items waiting (due, not done) in each area’s durable queue, all portals', labelNames: ['area'], registers }),
      queueOldestSeconds: new Gauge({
        name: 'omni_queue_oldest_seconds',
        help: 'Age of the oldest waiting item in each area’s queue, all portals (0 when none waits)',
        labelNames: ['area'],
        registers,
      }),
      failed24h: new Gauge({ name: 'omni_failed_items_24h', help: 'Items of each area that failed for good in the last 24 hours', labelNames: ['area'], registers }),
      restBudgetUsedMax: new Gauge({ name: 'omni_b24_rest_budget_used_max_ratio', help: 'The fullest portal REST bucket as this instance paces it (0…1)', registers }),
      openLines: new Gauge({ name: 'omni_open_lines', help: 'Open lines bound to UIS channels, by our binding state (active, off)', labelNames: ['state'], registers }),
      boundChannels: new Gauge({ name: 'omni_uis_bound_channels', help: 'UIS channels bound to open lines, by their UIS status', labelNames: ['status'], registers }),
      uisConnections: new Gauge({ name: 'omni_uis_connections', help: 'UIS adapter connections, by status', labelNames: ['status'], registers }),
      amocrmAccounts: new Gauge({ name: 'omni_amocrm_accounts', help: 'Connected amoCRM accounts, by status (active, reauth)', labelNames: ['status'], registers }),
      bridgeAudit: new Gauge({ name: 'omni_bridge_audit_portals', help: 'Portals by the outcome of the bridge’s last reconcile/loss audit (ok, incomplete)', labelNames: ['state'], registers }),
      chatSourceErrors: new Gauge({ name: 'omni_chat_source_errors', help: 'Portals whose chat source shows a last error, by source', labelNames: ['source'], registers }),
    },
  };
}
