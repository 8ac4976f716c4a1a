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
  };
}
