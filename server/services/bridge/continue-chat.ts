import { identityKinds, isOutboundType, type IdentityKind } from '../../domain/workspace';
import type { UisLink } from '../../domain/uis-link';
import { UisApiError } from '../../uis/errors';
import type { VisitorIdentity } from '../../uis/runtime-client';
import type { WorkspaceAdapters } from '../workspace-ports';
import { e164 } from '../../domain/phone';
import type { AsyncPort } from '../async-port';
import type { BridgeChat, BridgeRepository } from './ports';

export interface ContinueChatDeps {
  bridge: AsyncPort<BridgeRepository>;
  workspace: Pick<WorkspaceAdapters, 'channels' | 'runtime'>;
}

/** The runtime API's scope for a channel of the link's connected account. */
export const runtimeScope = (link: UisLink, channelId: string) => ({ accountId: link.connectionId ?? '', channelId });

export type UisChatForReply = { chat: BridgeChat } | { refused: string };

/**
 * The UIS chat an operator's message written in an open-line chat goes to. Usually the chat the
 * open-line chat was made for. When that chat is closed in UIS (the client, an operator or UIS
 * closed it), seed «Исходящая коммуникация» 2: a new UIS chat is started with the same client on the
 * same channel, as the writing operator, and the message goes there. The new chat continues the
 * open-line chat: Bitrix24 gets its messages under the first chat's connector chat id, and the
 * closed chat names it as its successor, so the operator's next messages follow it.
 *
 * Not possible, and said so (the operator sees the reason in the chat): channels that cannot start
 * a chat (Telegram bot, Avito, VK, web chat: the client must write first), WhatsApp Business API
 * (a new chat starts with a template, «Написать новому клиенту»), or no phone / e-mail known.
 */
export async function uisChatForReply(deps: ContinueChatDeps, link: UisLink, start: BridgeChat, operatorId: number): Promise<UisChatForReply> {
  const repo = deps.bridge;
  let chat = start;
  for (let i = 0; i < 50 && chat.status === 'closed' && chat.successorUisChatId; i++) {
    const next = await repo.chat(link.memberId, chat.successorUisChatId);
    if (!next) break;
    chat = next;
  }
  if (chat.status !== 'closed') return { chat };

  const channel = (await deps.workspace.channels.list(link.memberId, link.connectionId ?? '')).find((c) => c.channelId === chat.channelId);
  const closed = 'the client’s chat in UIS is closed';
  if (!channel) return { refused: `${closed}, and its channel is no longer connected to the UIS account` };
  if (!isOutboundType(channel.type)) return { refused: `${closed}; a ${channel.type} channel cannot start a new chat, the client’s next message opens one` };
  if (channel.type === 'waba') return { refused: `${closed}; WhatsApp Business API starts a new chat with a template only («Написать новому клиенту» in the UIS tab)` };
  const visitor = chat.visitorId ? await repo.visitor(link.memberId, chat.visitorId) : null;
  // the identities the channel takes (the bridge keeps no Telegram username)
  const phone = e164(visitor?.phone);
  const held: Partial<Record<IdentityKind, VisitorIdentity | null>> = { phone: phone ? { phone } : null, email: visitor?.email ? { email: visitor.email } : null };
  const kinds = identityKinds(channel.type);
  const identity = kinds.map((k) => held[k]).find((v) => v) ?? null;
  if (!identity) return { refused: `${closed}, and the client’s ${kinds.join(' or ')} is not known to start a new one` };

  let started: { chatId: number; visitorId: number };
  try {
    started = await deps.workspace.runtime(link).startChat(runtimeScope(link, chat.channelId), { operatorId, visitor: identity });
  } catch (e) {
    if (e instanceof UisApiError && !e.transient) return { refused: `${closed}, and UIS did not start a new one (${e.message})` };
    throw e; // unreachable or 5xx: the job is retried (UIS gives back the same chat if it did start it)
  }
  const uisChatId = String(started.chatId);
  const known = await repo.chat(link.memberId, uisChatId);
  // A chat the client opened meanwhile already has its own open-line chat: it keeps it (seed case 4).
  const own = known?.b24ChatId ? {} : { lineId: chat.lineId ?? undefined, b24ChatId: chat.b24ChatId ?? undefined, b24SessionId: chat.b24SessionId ?? undefined, extChatId: chat.extChatId };
  await repo.upsertChat({ memberId: link.memberId, uisChatId, channelId: chat.channelId, visitorId: String(started.visitorId), initiator: 'operator', operatorId: String(operatorId), status: 'open', ...own });
  await repo.upsertChat({ memberId: link.memberId, uisChatId: chat.uisChatId, channelId: chat.channelId, successorUisChatId: uisChatId });
  return { chat: (await repo.chat(link.memberId, uisChatId))! };
}
