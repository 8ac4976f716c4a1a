import { CONNECTOR_ID } from '../../../install/plan';
import type { ConnectorView } from '../../contracts/connector';
import { AppError } from '../../domain/errors';
import { openLineRefusal } from '../../domain/open-line-channels';
import type { BitrixGateway, UisLinkRepository } from '../ports';
import type { UisChannelRepository } from '../workspace-ports';
import type { AsyncPort } from '../async-port';
import type { BridgeRepository } from './ports';
import type { CrmRulesRepository } from '../crm-rules/ports';
import { dropOpenLineChannel } from '../crm-rules/settings';

export interface BindLineDeps {
  bridge: AsyncPort<BridgeRepository>;
  links: AsyncPort<UisLinkRepository>;
  channels: AsyncPort<UisChannelRepository>;
  gateway: BitrixGateway;
  appUrl: string;
  /** The adapter connection's status as UIS last reported it (PATCH /account); null when never reported. */
  connectionStatus?(memberId: string, connectionId: string): Promise<string | null>;
  /** «Чаты» settings: a channel a line now drives is switched off there. */
  crmRules?: AsyncPort<CrmRulesRepository>;
}

type Row = Record<string, unknown>;
const code = (e: unknown) => (e as { code?: string }).code ?? (e instanceof Error ? e.message : String(e));

/** The connector page's view of a line: our binding, the UIS channels, what Bitrix24 reports. */
export async function connectorView(deps: BindLineDeps, memberId: string, line: string): Promise<ConnectorView> {
  const link = await deps.links.get(memberId);
  const all = link?.connectionId ? await deps.channels.list(memberId, link.connectionId) : [];
  const channels = all.filter((c) => !openLineRefusal(c.type));
  const bindings = await deps.bridge.bindings(memberId);
  const b = bindings.find((x) => x.lineId === line) ?? null;
  // a bound channel UIS disabled (or removed) is not in the list of active ones, but the binding shows it
  const ch = b ? (all.find((c) => c.channelId === b.channelId) ?? (await deps.channels.get(memberId, b.channelId)) ?? undefined) : undefined;
  let portal: ConnectorView['portal'] = null;
  let portalError: string | null = null;
  try {
    const r = await deps.gateway.client(memberId).call<Row>('imconnector.status', { CONNECTOR: CONNECTOR_ID, LINE: line });
    portal = { active: r.result.STATUS === true, configured: r.result.CONFIGURED === true, error: r.result.ERROR === true };
  } catch (e) {
    portalError = code(e);
  }
  return {
    line,
    linked: !!link,
    binding: b
      ? {
          channelId: b.channelId,
          channelName: ch?.name ?? b.channelId,
          channelType: ch?.type ?? '',
          status: b.status,
          uisStatus: ch ? uisStatusOf(ch.status) : 'unknown',
          chatsRulesOff: b.chatsRulesOff,
          lastError: b.lastError,
        }
      : null,
    accountStatus: link?.connectionId ? uisStatusOf((await deps.connectionStatus?.(memberId, link.connectionId)) ?? 'active') : null,
    channels: channels.map((c) => ({ channelId: c.channelId, name: c.name, type: c.type, lineId: bindings.find((x) => x.channelId === c.channelId)?.lineId ?? null })),
    notForOpenLines: all.filter((c) => openLineRefusal(c.type)).map((c) => ({ channelId: c.channelId, name: c.name, type: c.type })),
    portal,
    portalError,
    defaultOperatorId: await deps.bridge.defaultOperator(memberId),
  };
}

const uisStatusOf = (s: string): 'active' | 'disabled' | 'removed' | 'unknown' =>
  s === 'active' || s === 'disabled' || s === 'removed' ? s : 'unknown';

/**
 * Connect a UIS channel to an open line: `imconnector.activate` + `imconnector.connector.data.set`
 * on the portal, then the binding is stored. A channel bound to another line moves (seed rule:
 * one channel per line, one line per channel); the connector is switched off on the old line so
 * two lines never drive one channel (docs/facts/uis.md#rule-11). The Chats CRM rules are turned off
 * for the channel (flag on the binding) and its type is unticked in the saved «Чаты» settings
 * (`chatsUnticked`: the page says so). SMS and Yandex channels are refused before any call
 * (seed 002: they do not work with open lines).
 */
export async function bindLine(deps: BindLineDeps, memberId: string, line: string, channelId: string): Promise<ConnectorView> {
  const link = await deps.links.get(memberId);
  if (!link?.connectionId) throw new AppError('UIS_NOT_LINKED', 'Link a UIS account on the app main page first', 409);
  const ch = (await deps.channels.list(memberId, link.connectionId)).find((c) => c.channelId === channelId);
  if (!ch) throw new AppError('CHANNEL_NOT_FOUND', 'UIS does not list this channel for the linked account', 404);
  const refused = openLineRefusal(ch.type);
  if (refused) throw new AppError('CHANNEL_NOT_FOR_OPEN_LINES', `«${ch.name}» cannot be connected to an open line: ${refused}`, 400);
  const rest = deps.gateway.client(memberId);
  const previous = await deps.bridge.bindingByChannel(memberId, channelId);
  try {
    await rest.call('imconnector.activate', { CONNECTOR: CONNECTOR_ID, LINE: line, ACTIVE: 1 });
    await rest.call('imconnector.connector.data.set', {
      CONNECTOR: CONNECTOR_ID,
      LINE: line,
      DATA: { ID: `uis_ch${channelId}`, URL: deps.appUrl, URL_IM: deps.appUrl, NAME: `UIS: ${ch.name}` },
    });
  } catch (e) {
    throw new AppError('PORTAL_REFUSED', `Bitrix24 did not activate the connector on line ${line} (${code(e)})`, 502);
  }
  const { movedFrom } = await deps.bridge.bind(memberId, line, channelId);
  if (movedFrom && previous) {
    await rest.call('imconnector.activate', { CONNECTOR: CONNECTOR_ID, LINE: movedFrom, ACTIVE: 0 }).catch(() => undefined);
  }
  const chatsUnticked = deps.crmRules ? await dropOpenLineChannel({ crmRules: deps.crmRules }, memberId, ch.type) : false;
  return { ...(await connectorView(deps, memberId, line)), movedFrom, chatsUnticked };
}

/** Disconnect: the connector is switched off on the line and the binding forgotten. */
export async function unbindLine(deps: BindLineDeps, memberId: string, line: string): Promise<ConnectorView> {
  try {
    await deps.gateway.client(memberId).call('imconnector.activate', { CONNECTOR: CONNECTOR_ID, LINE: line, ACTIVE: 0 });
  } catch (e) {
    throw new AppError('PORTAL_REFUSED', `Bitrix24 did not switch the connector off on line ${line} (${code(e)})`, 502);
  }
  await deps.bridge.unbind(memberId, line);
  return connectorView(deps, memberId, line);
}
