import type { UisLink } from '../domain/uis-link';
import type { UisCallback } from '../uis/callback-schemas';
import { step, type MaybeAsync, type Step } from './maybe-async';
import type { UisCallbackHandler } from './ports';
import type { UisChannelRepository } from './workspace-ports';

/**
 * Keeps the adapter channels UIS announces (`POST /channel`, `PATCH`/`DELETE /channel/{id}`,
 * Chat API §"Обратные вызовы"; WABA templates arrive in `context.message_templates`, §"Работа с
 * каналом типа waba") in a table, then passes the callback on unchanged. Starting an outbound
 * chat needs the runtime channel id, its type and, for WABA, the templates.
 */
export function trackUisChannels(inner: UisCallbackHandler, channels: MaybeAsync<UisChannelRepository>): UisCallbackHandler {
  return {
    *handle(link: UisLink, cb: UisCallback): Step<void> {
      yield* inner.handle(link, cb);
      if (cb.route !== 'POST /channel' && cb.route !== 'PATCH /channel' && cb.route !== 'DELETE /channel') return;
      const b = cb.body;
      const channelId = b.id ?? cb.pathId;
      if (!channelId) return;
      if (cb.route === 'DELETE /channel') {
        yield* step(channels.markRemoved(link.memberId, channelId));
        return;
      }
      const templates = b.context?.message_templates ?? [];
      yield* step(
        channels.upsert({
          memberId: link.memberId,
          channelId,
          accountId: b.account_id ?? link.connectionId ?? '',
          chatChannelId: b.context?.chat_channel_id ?? null,
          type: b.type ?? '',
          name: b.name ?? '',
          status: b.status ?? 'active',
          templates: templates.map((t) => {
            const content = t.content ?? {};
            return { id: t.id, name: t.name ?? String(t.id), text: typeof content.text === 'string' ? content.text : '', content };
          }),
        }),
      );
    },
  };
}
