import { z } from 'zod';

/**
 * The UIS operator workspace (РМО) inside Bitrix24: the left-menu page and the CRM card tabs
 * (issue #5). The server decides what the pages may frame; the pages read CRM contact data with
 * the viewing user's own token and ask here which UIS chats belong to that client.
 */

/** What a page shows instead of (or around) the workspace frame. */
export const workspaceStateSchema = z.enum([
  /** the workspace URL is ready to frame */
  'ready',
  /** no UIS account is linked to the portal */
  'not-linked',
  /** the linked account is a CoMagic one: the РМО frame works for UIS accounts only (seeds) */
  'comagic',
  /** the workspace host did not answer our server's check */
  'unreachable',
]);
export type WorkspaceState = z.infer<typeof workspaceStateSchema>;

export const workspaceViewSchema = z.object({
  state: workspaceStateSchema,
  /** Absolute URL to frame (account, and the mapped operator when known); null unless `ready`. */
  url: z.string().nullable(),
  /** The caller may change the UIS link (portal admin): the page offers the settings. */
  canManage: z.boolean(),
});
export type WorkspaceView = z.infer<typeof workspaceViewSchema>;

/** Channel types on which an operator may write first (Chat API §"Создание чата", docs/facts/uis.md#runtime-api). */
export const outboundChannelTypeSchema = z.enum(['whatsapp', 'waba', 'telegram_private', 'sms', 'email']);
export type OutboundChannelType = z.infer<typeof outboundChannelTypeSchema>;

export const wabaTemplateSchema = z.object({ id: z.number().int(), name: z.string(), text: z.string() });
export type WabaTemplate = z.infer<typeof wabaTemplateSchema>;

/** A channel of the linked account that can start a chat; WABA lists its templates. */
export const startChannelSchema = z.object({
  id: z.string(),
  type: outboundChannelTypeSchema,
  name: z.string(),
  templates: z.array(wabaTemplateSchema),
});
export type StartChannel = z.infer<typeof startChannelSchema>;

const phone = z.string().trim().min(5).max(40);
const email = z.string().trim().min(3).max(254);

/** POST /api/workspace/lookup: the client's contact data, as the page could read it. */
export const lookupRequestSchema = z.object({
  phones: z.array(phone).max(20),
  emails: z.array(email).max(20),
});
export type LookupRequest = z.infer<typeof lookupRequestSchema>;

export const clientChatSchema = z.object({
  id: z.number().int(),
  /** Data API get.chats_report `status`: new, active, succeed, lost, refused… */
  status: z.string(),
  channelType: z.string().nullable(),
  channelName: z.string().nullable(),
  startedAt: z.string().nullable(),
});
export type ClientChat = z.infer<typeof clientChatSchema>;

export const lookupResultSchema = z.object({
  /** The client's chats in UIS, newest first (at most 50). */
  chats: z.array(clientChatSchema),
  /** The workspace opened on the chat to show (an open one first); null when there is none. */
  openUrl: z.string().nullable(),
  /** Where "Написать новому клиенту" may start a chat. */
  channels: z.array(startChannelSchema),
});
export type LookupResult = z.infer<typeof lookupResultSchema>;

/**
 * POST /api/workspace/chats: start an outbound chat as the calling operator. Exactly one of
 * phone / email / username (the one the channel type takes); WABA needs `templateId` and takes
 * no free text (the first message must be a template, docs/facts/uis.md#waba).
 */
export const startChatRequestSchema = z.object({
  channelId: z.string().trim().min(1).max(40),
  phone: phone.optional(),
  email: email.optional(),
  username: z.string().trim().min(2).max(64).optional(),
  text: z.string().trim().max(4096).optional(),
  templateId: z.number().int().positive().optional(),
});
export type StartChatRequest = z.infer<typeof startChatRequestSchema>;

export const startChatResultSchema = z.object({
  chatId: z.number().int(),
  /** The workspace opened on the new chat. */
  url: z.string(),
});
export type StartChatResult = z.infer<typeof startChatResultSchema>;
