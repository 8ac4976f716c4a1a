import { CONNECTOR_ID } from '../../../install/plan';
import type { OpenLineState, OpenLinesSettings, OpenLinesView } from '../../contracts/open-lines';
import { badRequest } from '../../domain/errors';
import { openLineRefusal } from '../../domain/open-line-channels';
import type { BatchCall } from '../../bitrix/rest-client';
import type { AsyncPort } from '../async-port';
import type { BitrixGateway, PortalRepository, UisLinkRepository } from '../ports';
import type { UisChannelRepository } from '../workspace-ports';
import type { LineBinding } from '../bridge/ports';
import { crmDirectory, type CrmDirectoryDeps } from '../crm-rules/directory';
import type { OpenLinesRepository } from './ports';

export interface OpenLinesDeps extends CrmDirectoryDeps {
  openLines: OpenLinesRepository;
  links: AsyncPort<UisLinkRepository>;
  portals: Pick<AsyncPort<PortalRepository>, 'get'>;
  gateway: BitrixGateway;
  /** The Open Lines bridge's line bindings (read only). */
  bridge: { bindings(memberId: string): Promise<LineBinding[]> };
  channels: AsyncPort<UisChannelRepository>;
  /** The adapter connection's status as UIS last reported it (PATCH /account); null when never reported. */
  connectionStatus(memberId: string, connectionId: string): Promise<string | null>;
}

type Row = Record<string, unknown>;

/** A tab nobody saved yet: off, no fields (the «Добавить» button proposes «ID первой коммуникации»). */
export const DEFAULT_OPEN_LINES_SETTINGS: OpenLinesSettings = { enabled: false, fields: [] };

const uisStatusOf = (s: string | null | undefined): OpenLineState['uisStatus'] =>
  s === 'active' || s === 'disabled' || s === 'removed' ? s : 'unknown';

/** The portal's own address (its REST endpoint's origin): the links open pages of the portal. */
async function portalOrigin(deps: Pick<OpenLinesDeps, 'portals'>, memberId: string): Promise<string | null> {
  const p = await deps.portals.get(memberId);
  if (!p) return null;
  try {
    return new URL(p.clientEndpoint).origin;
  } catch {
    return null;
  }
}

/**
 * The lines our connector drives, as both sides see them: our binding and the channel as UIS
 * reports it; the line's name and `imconnector.status` from Bitrix24 in one `batch`. When the
 * portal does not answer, the lines are still listed (its side unknown) and `portalError` says so.
 */
export async function lineStates(deps: OpenLinesDeps, memberId: string): Promise<{ lines: OpenLineState[]; portalError: string | null }> {
  const link = await deps.links.get(memberId);
  const bindings = await deps.bridge.bindings(memberId);
  if (!bindings.length) return { lines: [], portalError: null };
  const connection = link?.connectionId ? uisStatusOf((await deps.connectionStatus(memberId, link.connectionId)) ?? 'active') : 'unknown';
  const origin = await portalOrigin(deps, memberId);
  const calls: Record<string, BatchCall> = { lines: { method: 'imopenlines.config.list.get', params: { PARAMS: { select: ['ID', 'LINE_NAME'] } } } };
  for (const b of bindings) calls[`s${b.lineId}`] = { method: 'imconnector.status', params: { CONNECTOR: CONNECTOR_ID, LINE: b.lineId } };
  let result: Record<string, unknown> = {};
  let portalError: string | null = null;
  try {
    const r = await deps.gateway.client(memberId).batch(calls);
    result = r.result;
    const failed = Object.values(r.errors)[0];
    if (failed) portalError = failed.error;
  } catch (e) {
    portalError = (e as { code?: string }).code ?? (e instanceof Error ? e.message : String(e));
  }
  const names = new Map(((Array.isArray(result.lines) ? result.lines : []) as Row[]).map((l) => [String(l.ID), String(l.LINE_NAME ?? '')]));
  const channels = await Promise.all(bindings.map((b) => deps.channels.get(memberId, b.channelId)));
  const lines = bindings.map((b, i): OpenLineState => {
    const ch = channels[i];
    const s = result[`s${b.lineId}`] as Row | undefined;
    const channelState = uisStatusOf(ch?.status ?? 'unknown');
    return {
      lineId: b.lineId,
      lineName: names.get(b.lineId) || null,
      channelId: b.channelId,
      channelName: ch?.name ?? b.channelId,
      channelType: ch?.type ?? '',
      binding: b.status,
      // the connection disabled means no channel hears anything: the channel says so too
      uisStatus: connection === 'disabled' || connection === 'removed' ? connection : channelState,
      portal: s ? { active: s.STATUS === true, configured: s.CONFIGURED === true, error: s.ERROR === true } : null,
      lastError: b.lastError,
      connectorUrl: origin ? `${origin}/contact_center/connector/?ID=${CONNECTOR_ID}&LINE=${encodeURIComponent(b.lineId)}` : null,
    };
  });
  return { lines, portalError };
}

export async function openLinesView(deps: OpenLinesDeps, memberId: string): Promise<OpenLinesView> {
  const [stored, states, recent] = await Promise.all([deps.openLines.getSettings(memberId), lineStates(deps, memberId), deps.openLines.recent(memberId, 10)]);
  const link = await deps.links.get(memberId);
  const all = link?.connectionId ? await deps.channels.list(memberId, link.connectionId) : [];
  const origin = await portalOrigin(deps, memberId);
  return {
    settings: stored?.settings ?? DEFAULT_OPEN_LINES_SETTINGS,
    saved: stored !== null,
    updatedAt: stored?.updatedAt ?? null,
    linked: !!link,
    lines: states.lines,
    portalError: states.portalError,
    notForOpenLines: all.filter((c) => openLineRefusal(c.type)).map((c) => ({ channelId: c.channelId, name: c.name, type: c.type })),
    contactCenterUrl: origin ? `${origin}/contact_center/` : null,
    recent: recent.map((j) => ({
      entityType: j.entityType,
      entityId: j.entityId,
      status: j.status,
      uisChatId: j.uisChatId,
      written: j.written,
      reason: j.reason,
      updatedAt: new Date(j.updatedAt).toISOString(),
    })),
  };
}

/**
 * Saves the tab. Every mapped field must be a text field of that entity in the portal's CRM
 * (the directory the «Чаты» tab uses; seed 002: «отображаются только поля с типом "Текст"»).
 */
export async function saveOpenLines(deps: OpenLinesDeps, memberId: string, settings: OpenLinesSettings): Promise<OpenLinesView> {
  if (settings.fields.length) {
    const d = await crmDirectory(deps, memberId);
    const problems = settings.fields.flatMap((f, i) =>
      d.fields[f.entity].some((x) => x.id === f.b24Field) ? [] : [`fields.${i}.b24Field: ${f.b24Field} is not a text field of the ${f.entity}`],
    );
    if (problems.length) throw badRequest('VALIDATION_FAILED', problems.join('; '));
  }
  await deps.openLines.saveSettings(memberId, settings);
  return openLinesView(deps, memberId);
}
