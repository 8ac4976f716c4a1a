import type { UisLink } from '../domain/uis-link';
import type { UisCallbackHandler } from './ports';
import type { UisChannelRepository } from './workspace-ports';

type Row = Record<string, unknown>;

/**
 * Keeps the adapter channels UIS announces (`POST`/`PATCH /channel`, `DELETE /channel/{id}`,
 * Chat API §"Обратные вызовы"; WABA templates arrive in `context.message_templates`, §"Работа с
 * каналом типа waba") in a table, then passes the callback on unchanged. Starting an outbound
 * chat needs the runtime channel id, its type and, for WABA, the templates.
 */
export function trackUisChannels(inner: UisCallbackHandler, channels: UisChannelRepository): UisCallbackHandler {
  return {
    handle(link: UisLink, path: string, method: string, body: unknown) {
      inner.handle(link, path, method, body);
      if (!/^\/channel(\/|$)/.test(path)) return;
      const b = (body && typeof body === 'object' ? body : {}) as Row;
      const idFromPath = /^\/channel\/(\d+)/.exec(path)?.[1];
      const channelId = b.id !== undefined && b.id !== null ? String(b.id) : idFromPath;
      if (!channelId) return;
      if (method === 'DELETE') {
        channels.markRemoved(link.memberId, channelId);
        return;
      }
      const context = (b.context && typeof b.context === 'object' ? b.context : {}) as Row;
      const templates = Array.isArray(context.message_templates) ? (context.message_templates as Row[]) : [];
      channels.upsert({
        memberId: link.memberId,
        channelId,
        accountId: String(b.account_id ?? link.connectionId ?? ''),
        chatChannelId: context.chat_channel_id !== undefined && context.chat_channel_id !== null ? String(context.chat_channel_id) : null,
        type: String(b.type ?? ''),
        name: String(b.name ?? ''),
        status: typeof b.status === 'string' ? b.status : 'active',
        templates: templates.map((t) => {
          const content = (t.content && typeof t.content === 'object' ? t.content : {}) as Row;
          return { id: Number(t.id), name: String(t.name ?? t.id), text: typeof content.text === 'string' ? content.text : '', content };
        }),
      });
    },
  };
}
