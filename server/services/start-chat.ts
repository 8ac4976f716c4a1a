import type { StartChatRequest, StartChatResult } from '../contracts/workspace';
import { AppError, badRequest } from '../domain/errors';
import { e164 } from '../domain/phone';
import { identityKinds, isOutboundType, normalEmail, telegramUsername, workspaceUrl } from '../domain/workspace';
import type { VisitorIdentity } from '../uis/runtime-client';
import { findOperator } from './find-operator';
import { uisFailure, usableLink } from './workspace-errors';
import type { UisChannel, WorkspaceCaller, WorkspaceDeps } from './workspace-ports';

/**
 * «Написать новому клиенту»: start an outbound chat as the calling operator through the UIS
 * runtime API (`POST /v1/adapter/chat`, docs/facts/uis.md#runtime-api), then send the first message when there
 * is one. Rules checked before UIS is asked:
 * - the channel is one of the link's active channels and can start chats (whatsapp, waba,
 *   telegram_private, sms, email);
 * - exactly one client identity, the kind the channel takes (e-mail for e-mail, phone or
 *   @username for Telegram, phone otherwise);
 * - WABA: the first message is one of the channel's templates and nothing else (docs/facts/uis.md#waba);
 * - the Bitrix24 user maps to a UIS employee allowed to chat (findOperator).
 */
export async function startChat(deps: WorkspaceDeps, caller: WorkspaceCaller, req: StartChatRequest): Promise<StartChatResult> {
  const link = await usableLink(deps.links, caller.memberId);
  const channel = (await deps.channels.list(link.memberId, link.connectionId)).find((c) => c.channelId === req.channelId);
  if (!channel) throw badRequest('CHANNEL_NOT_FOUND', 'This channel is not connected to the UIS account (or was removed)');
  if (!isOutboundType(channel.type)) throw badRequest('CHANNEL_CANNOT_START', `A chat cannot be started on a ${channel.type} channel`);
  const visitor = identityFor(channel.type, req);
  const template = templateFor(channel, req);
  const operator = await findOperator(deps, link, caller.userId);

  const runtime = deps.runtime(link);
  const scope = { accountId: link.connectionId, channelId: channel.channelId };
  let chatId: number;
  try {
    const started = await runtime.startChat(scope, { operatorId: operator.id, visitor });
    chatId = started.chatId;
    await deps.chatStarted?.(caller.memberId, {
      uisChatId: String(chatId),
      channelId: channel.channelId,
      visitorId: String(started.visitorId),
      operatorId: operator.id,
      phone: 'phone' in visitor ? visitor.phone : null,
      email: 'email' in visitor ? visitor.email : null,
    });
  } catch (e) {
    throw uisFailure(e, 'UIS_REFUSED', 'UIS did not start the chat');
  }
  const text = channel.type === 'waba' ? undefined : req.text;
  if (template || text) {
    try {
      await runtime.sendMessage(scope, { chatId, operatorId: operator.id, text: template ? template.text : text, template });
    } catch (e) {
      deps.log.warn({ memberId: caller.memberId, chatId, code: (e as { code?: string }).code }, 'workspace: the chat started, its first message failed');
      throw uisFailure(e, 'FIRST_MESSAGE_FAILED', `The chat ${chatId} started, but UIS did not accept the first message`);
    }
  }
  deps.log.info({ memberId: caller.memberId, userId: caller.userId, chatId, channel: channel.type }, 'workspace: outbound chat started');
  const base = deps.uisEndpoints(link.project).workspaceUrl;
  const contact = 'phone' in visitor ? { phone: visitor.phone.slice(1) } : 'email' in visitor ? { email: visitor.email } : { username: visitor.username };
  return { chatId, url: workspaceUrl(base, { accountId: link.accountId, chatId, operatorId: operator.id, ...contact }) };
}

function identityFor(type: Parameters<typeof identityKinds>[0], req: StartChatRequest): VisitorIdentity {
  const given = (['phone', 'email', 'username'] as const).filter((k) => req[k] !== undefined && req[k] !== '');
  const allowed = identityKinds(type);
  if (given.length !== 1 || !allowed.includes(given[0]!)) {
    throw badRequest('CONTACT_NOT_APPLICABLE', `A ${type} chat needs exactly one ${allowed.join(' or ')}`);
  }
  const kind = given[0]!;
  const raw = req[kind]!;
  const value = kind === 'phone' ? e164(raw) : kind === 'email' ? normalEmail(raw) : telegramUsername(raw);
  if (!value) throw badRequest('CONTACT_INVALID', kind === 'username' ? 'A Telegram username is @ and 5–32 letters, digits or _' : `"${raw}" is not a valid ${kind}`);
  return kind === 'phone' ? { phone: value } : kind === 'email' ? { email: value } : { username: value };
}

/** WABA writes first only with a template (docs/facts/uis.md#waba); other channels take no template. */
function templateFor(channel: UisChannel, req: StartChatRequest) {
  if (channel.type !== 'waba') {
    if (req.templateId !== undefined) throw badRequest('TEMPLATE_NOT_APPLICABLE', 'Templates are for WhatsApp Business API channels only');
    return undefined;
  }
  if (req.templateId === undefined) {
    throw badRequest('WABA_TEMPLATE_REQUIRED', 'WhatsApp Business API: the first message to a client must be one of the channel templates');
  }
  if (req.text) throw badRequest('WABA_TEMPLATE_REQUIRED', 'WhatsApp Business API: the first message is the template itself; free text is possible once the client answers');
  const t = channel.templates.find((x) => x.id === req.templateId);
  if (!t) throw new AppError('WABA_TEMPLATE_UNKNOWN', 'This template is not (or no longer) available on the channel', 400);
  return { id: t.id, text: t.text, ...pickParts(t.content) };
}

function pickParts(content: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of ['header', 'footer', 'keyboard']) if (content[k] !== undefined && content[k] !== null) out[k] = content[k];
  return out;
}
