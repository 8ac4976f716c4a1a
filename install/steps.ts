import { handlerUrl, type ConnectorStep, type EventsStep, type InstallStep, type PlacementStep } from './plan';
import { toCodedError, type CodedError, type RestCaller } from './rest-caller';

/**
 * Runs the install plan idempotently: check-then-bind, and "already binded" counts as success
 * (docs/facts/bitrix24.md#placements, docs/facts/bitrix24.md#event-delivery, gotcha 9). Running it twice, or again after ONAPPUPDATE removed the
 * bindings, leaves exactly one binding of each kind. Bindings of ours that point at another
 * handler (the app moved to a new URL) are replaced, not duplicated.
 */
export type StepDetail = 'created' | 'present' | 'rebound' | 'updated' | 'skipped';

export interface StepReport {
  id: string;
  status: 'running' | 'done' | 'failed';
  detail?: StepDetail;
  error?: CodedError;
}

interface PlacementBinding {
  placement: string;
  handler: string;
  title?: string;
}

interface EventBindingRow {
  event: string;
  handler: string;
  offline: boolean;
}

const MAX_BATCH = 50;

/** Work a step needs from outside the plan: the external lines follow the linked UIS account's numbers. */
export interface PlanExtras {
  lines?: () => Promise<StepDetail>;
}

/** Runs every step in order, stopping at the first failure. Resolves true when all succeeded. */
export async function runInstallPlan(
  steps: readonly InstallStep[],
  rest: RestCaller,
  appUrl: string,
  report: (r: StepReport) => void,
  extras: PlanExtras = {},
): Promise<boolean> {
  let placements: PlacementBinding[] | null = null;
  const loadPlacements = async () => (placements ??= await readPlacements(rest));
  for (const step of steps) {
    report({ id: step.id, status: 'running' });
    try {
      const detail =
        step.kind === 'connector'
          ? await ensureConnector(step, rest, appUrl)
          : step.kind === 'placement'
            ? await ensurePlacement(step, rest, appUrl, await loadPlacements())
            : step.kind === 'events'
              ? await ensureEvents(step, rest, appUrl)
              : extras.lines
                ? await extras.lines()
                : 'skipped';
      report({ id: step.id, status: 'done', detail });
    } catch (e) {
      report({ id: step.id, status: 'failed', error: toCodedError(e) });
      return false;
    }
  }
  return true;
}

/** imconnector.register updates a connector registered with the same id, so it is idempotent by itself (docs/facts/bitrix24.md#imconnector-register). */
async function ensureConnector(step: ConnectorStep, rest: RestCaller, appUrl: string): Promise<StepDetail> {
  const icon = (color: string) => ({
    DATA_IMAGE: `data:image/svg+xml;charset=US-ASCII,${encodeURIComponent(step.iconSvg)}`,
    COLOR: color,
    SIZE: '90%',
    POSITION: 'center',
  });
  // imconnector.list (same right as register): whether this is the first registration or an update
  const before = await rest.call('imconnector.list');
  const known = !!before.result && typeof before.result === 'object' && Object.hasOwn(before.result, step.connectorId);
  const r = await rest.call('imconnector.register', {
    ID: step.connectorId,
    NAME: step.name,
    ICON: icon(step.color),
    ICON_DISABLED: icon('#c3c9cd'),
    PLACEMENT_HANDLER: handlerUrl(appUrl, step.handlerPath),
  });
  // Failures come back as HTTP 200 with {result:{result:false, error}} (docs/facts/bitrix24.md#imconnector-register).
  const inner = r.result as { result?: unknown; error?: unknown; error_description?: unknown } | null;
  if (!inner || inner.result !== true) {
    throw { code: String(inner?.error ?? 'CONNECTOR_REGISTRATION_FAILED'), message: String(inner?.error_description ?? 'imconnector.register refused the connector') };
  }
  return known ? 'updated' : 'created';
}

async function readPlacements(rest: RestCaller): Promise<PlacementBinding[]> {
  const r = await rest.call('placement.get');
  const rows = Array.isArray(r.result) ? (r.result as Array<Record<string, unknown>>) : [];
  return rows.map((b) => ({ placement: String(b.placement ?? '').toUpperCase(), handler: String(b.handler ?? ''), title: b.title as string | undefined }));
}

async function ensurePlacement(step: PlacementStep, rest: RestCaller, appUrl: string, all: PlacementBinding[]): Promise<StepDetail> {
  const handler = handlerUrl(appUrl, step.handlerPath);
  const mine = all.filter((b) => b.placement === step.placement);
  const current = mine.find((b) => b.handler === handler && b.title === step.title.ru);
  const obsolete = mine.filter((b) => b !== current);
  for (const b of obsolete) await rest.call('placement.unbind', { PLACEMENT: step.placement, HANDLER: b.handler });
  if (current) return obsolete.length ? 'rebound' : 'present';
  await ignoreAlreadyBound(() =>
    rest.call('placement.bind', {
      PLACEMENT: step.placement,
      HANDLER: handler,
      TITLE: step.title.ru,
      LANG_ALL: { ru: { TITLE: step.title.ru }, en: { TITLE: step.title.en } },
    }),
  );
  return obsolete.length ? 'rebound' : 'created';
}

async function ensureEvents(step: EventsStep, rest: RestCaller, appUrl: string): Promise<StepDetail> {
  const handler = handlerUrl(appUrl, step.handlerPath);
  const r = await rest.call('event.get');
  const rows: EventBindingRow[] = (Array.isArray(r.result) ? (r.result as Array<Record<string, unknown>>) : []).map((b) => ({
    event: String(b.event ?? '').toUpperCase(),
    handler: String(b.handler ?? ''),
    offline: b.offline === true || Number(b.offline) === 1,
  }));
  const ours = new Set(step.bindings.map((b) => b.event));
  const stale = rows.filter((b) => !b.offline && ours.has(b.event) && b.handler !== handler);
  const missing = step.bindings.filter((want) =>
    !rows.some((b) => b.event === want.event && (want.type === 'offline' ? b.offline : !b.offline && b.handler === handler)),
  );
  const calls: Record<string, { method: string; params: Record<string, unknown> }> = {};
  stale.forEach((b, i) => (calls[`unbind_${i}`] = { method: 'event.unbind', params: { event: b.event, handler: b.handler } }));
  missing.forEach((b) => {
    calls[`bind_${b.type}_${b.event}`] = {
      method: 'event.bind',
      params: b.type === 'offline' ? { event: b.event, event_type: 'offline' } : { event: b.event, handler },
    };
  });
  const keys = Object.keys(calls);
  for (let i = 0; i < keys.length; i += MAX_BATCH) {
    const chunk = Object.fromEntries(keys.slice(i, i + MAX_BATCH).map((k) => [k, calls[k]!]));
    const res = await rest.batch(chunk);
    for (const [key, err] of Object.entries(res.errors)) {
      if (!isAlreadyBound(err.error, err.error_description)) throw { code: err.error, message: `${key}: ${err.error_description}` };
    }
  }
  if (missing.length === 0) return stale.length ? 'rebound' : 'present';
  // bindings of other events (the portal binds ONAPPINSTALL itself) do not make a first install an update
  return rows.some((b) => ours.has(b.event)) ? 'updated' : 'created';
}

function isAlreadyBound(code: string, description: string): boolean {
  return code === 'ERROR_CORE' && /already bind/i.test(description);
}

async function ignoreAlreadyBound(fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn();
  } catch (e) {
    const { code, message } = toCodedError(e);
    if (!isAlreadyBound(code, message)) throw e;
  }
}
