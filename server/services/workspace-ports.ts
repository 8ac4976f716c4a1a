import type { WabaTemplate } from '../contracts/workspace';
import type { UisLink } from '../domain/uis-link';
import type { Logger } from '../logging';
import type { Clock } from '../domain/clock';
import type { UisRuntime } from '../uis/runtime-client';
import type { BitrixGateway, UisEndpoints, UisLinkRepository } from './ports';
import type { UisProject } from '../contracts/uis';
import type { AsyncPort } from './async-port';

/**
 * Ports of the operator-workspace use cases (issue #5). Kept apart from ports.ts so the
 * workspace feature stays in its own files.
 */

/** An adapter channel as UIS announced it (callbacks POST/PATCH/DELETE /channel, docs/facts/uis.md#chat-callbacks). */
export interface UisChannel {
  memberId: string;
  /** Runtime `channel_id` (the adapter channel). */
  channelId: string;
  /** Runtime `account_id` (our connection). */
  accountId: string;
  /** Management channel id (`context.chat_channel_id`). */
  chatChannelId: string | null;
  type: string;
  name: string;
  status: 'active' | 'disabled' | 'removed' | string;
  /** WABA: `context.message_templates`, reduced to what the page lists and the runtime needs. */
  templates: Array<WabaTemplate & { content: Record<string, unknown> }>;
}

export interface UisChannelRepository {
  upsert(ch: UisChannel): void;
  markRemoved(memberId: string, channelId: string): void;
  /** The connection's channels, active ones only. */
  list(memberId: string, accountId: string): UisChannel[];
  /** One channel as UIS last announced it, whatever its status (disabled, removed); null when never announced. */
  get(memberId: string, channelId: string): UisChannel | null;
}

/** The Data API calls the workspace needs, with the link's key. */
export interface WorkspaceDataApi {
  call<T = unknown>(link: UisLink, method: string, params?: Record<string, unknown>): Promise<T>;
}

export interface WorkspaceAdapters {
  channels: AsyncPort<UisChannelRepository>;
  /** Runtime API client acting as the link's adapter. */
  runtime(link: UisLink): UisRuntime;
  dataApi: WorkspaceDataApi;
  /** Server-side reachability of the workspace host. */
  probe: { reachable(url: string): Promise<boolean> };
}

export interface WorkspaceDeps extends WorkspaceAdapters {
  links: AsyncPort<UisLinkRepository>;
  /** The employee sync's mapping (Bitrix24 user → UIS employee), consulted before the e-mail match. */
  employees?: { uisEmployeeFor(memberId: string, b24UserId: number): Promise<number | null> };
  uisEndpoints(project: UisProject): UisEndpoints;
  gateway: BitrixGateway;
  clock: Clock;
  log: Logger;
  /** A chat was started through the runtime API (UIS sends no `/chat` callback for it): the Open Lines bridge learns it. */
  chatStarted?(memberId: string, c: { uisChatId: string; channelId: string; visitorId: string; operatorId: number; phone?: string | null; email?: string | null }): Promise<void>;
}

/** Who is asking: a verified page session. */
export interface WorkspaceCaller {
  memberId: string;
  userId: number;
  isAdmin: boolean;
}
