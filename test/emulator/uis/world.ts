/**
 * Everything the emulated platform knows, shared by its HTTP surfaces: UIS accounts (clients),
 * the adapters registered through the Management API, their connections ("accounts" in Chat API
 * words), the adapter channels, uploaded resources, and the callback dispatcher.
 */
import type { Clock } from '../../../server/domain/clock';
import type { AccountImpl } from './account';
import { CallbackDispatcher } from './callbacks';
import { Ids, randomHex } from './ids';
import type { Route } from './payloads';
import type { AdapterChannelRec, AdapterRec, ChatChannel, ConnectionRec, Resource } from './types';

export interface WorldConfig {
  /** lifetime of the auth `jwt` (docs silent; 1 h chosen) */
  jwtTtlSec: number;
  /** lifetime of the runtime `access_token` (docs silent; 24 h chosen) */
  runtimeTokenTtlSec: number;
  /** extra callback attempts after a failure (docs silent → 0: at most once) */
  callbackRetries: number;
  callbackBackoffMs: number;
  /** delays after an operator message before each status callback */
  statusDelaysMs: { accepted: number; sent: number; delivered: number };
}

export interface Fault {
  path: string;
  remaining: number;
  status: number;
}

export class World {
  readonly ids = new Ids();
  readonly secret = randomHex(32);
  readonly accounts: AccountImpl[] = [];
  readonly adapters = new Map<number, AdapterRec>();
  readonly connections = new Map<number, ConnectionRec>();
  readonly adapterChannels = new Map<number, AdapterChannelRec>();
  readonly resources = new Map<number, Resource>();
  readonly callbacks: CallbackDispatcher;
  readonly faults: Fault[] = [];
  origin = '';
  down = false;

  constructor(
    readonly clock: Clock,
    readonly config: WorldConfig,
  ) {
    this.callbacks = new CallbackDispatcher(this);
    // Chat API §"Список адаптеров": the list also holds system adapters (owner null), which nobody may manage.
    for (const [id, type, name] of [
      [1, 'amocrm', 'amoCRM'],
      [2, 'retailcrm', 'RetailCRM'],
    ] as const) {
      this.adapters.set(id, {
        id,
        type,
        name,
        status: 'active',
        supportedChannelTypes: ['comagic', 'telegram', 'whatsapp', 'telegram_private', 'avito', 'viber', 'email', 'sms'],
        owner: null,
        visibilityStatus: 'public',
        login: `system_${type}`,
        password: randomHex(16),
        webhookUrl: `https://${type}.integrations.invalid/uis`,
        webhookVersion: 'v2',
        webhookToken: null,
        webhookAuth: null,
        webhookKwargs: {},
      });
    }
  }

  account(appId: number): AccountImpl | undefined {
    return this.accounts.find((a) => a.appId === appId);
  }

  /** The active connection of an account that carries a chat channel, with its adapter channel. */
  route(account: AccountImpl, chatChannel: ChatChannel): (Route & { adapter: AdapterRec }) | null {
    for (const connection of this.connections.values()) {
      if (connection.appId !== account.appId || connection.status !== 'active') continue;
      if (!connection.channels.includes(chatChannel.id)) continue;
      // a channel UIS disabled gets no callbacks (Chat API §"Каналы чатов" status; see types.ts ChatChannel)
      if (chatChannel.status === 'disabled') return null;
      const adapter = this.adapters.get(connection.adapterId);
      if (!adapter || adapter.status !== 'active') continue;
      const adapterChannel = [...this.adapterChannels.values()].find(
        (ac) => ac.connectionId === connection.id && ac.chatChannelId === chatChannel.id && ac.status === 'active',
      );
      if (!adapterChannel) continue;
      return { connection, adapterChannel, chatChannel, adapter };
    }
    return null;
  }
}
