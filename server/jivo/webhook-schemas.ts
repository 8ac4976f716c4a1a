import { z } from 'zod';
import type { JivoChatFinished, JivoOfflineMessage } from '../domain/chat-sources/jivo';

/**
 * Jivo webhook bodies (jivo.ru/docs/webhooks; docs/facts/chat-sources.md#jivo-events), JSON with `event_name`.
 * Only `chat_finished` and `offline_message` matter for analytics; every other documented event
 * (`chat_accepted`, `chat_updated`, `client_updated`, `chat_assigned`, `call_event`) is answered
 * and ignored. Contacts may be absent or null; ids may come as numbers or digit strings.
 */
const text = (max: number) => z.string().max(max);
const optText = (max: number) =>
  z
    .union([z.string(), z.number()])
    .nullish()
    .transform((v) => (v === null || v === undefined || String(v).trim() === '' ? null : String(v).trim().slice(0, max)));
const widgetId = z.union([z.string().regex(/^[\w.-]{1,64}$/), z.number().int().nonnegative()]).transform(String);
const numericId = z.union([z.number().int().positive(), z.string().regex(/^\d{1,18}$/)]);

const visitor = z
  .object({ name: optText(255), phone: optText(64), email: optText(255) })
  .nullish()
  .transform((v) => ({ name: v?.name ?? null, phone: v?.phone ?? null, email: v?.email ?? null }));

const message = z.object({
  message: z.union([text(20_000), z.null()]).transform((v) => v ?? ''),
  timestamp: z.number().int().nonnegative(),
  type: z.string().max(32),
});

export const jivoEventSchema = z.object({ event_name: z.string().min(1).max(64) });

const chatFinishedSchema = z.object({
  event_name: z.literal('chat_finished'),
  widget_id: widgetId,
  chat_id: numericId.transform(Number),
  user_token: optText(200),
  visitor,
  chat: z
    .object({
      messages: z.array(message).max(5000).nullish(),
      blacklisted: z.boolean().nullish(),
      invitation: optText(4000),
    })
    .nullish(),
});

const offlineSchema = z.object({
  event_name: z.literal('offline_message'),
  widget_id: widgetId,
  offline_message_id: numericId.transform(String),
  user_token: optText(200),
  visitor,
  message: z.union([text(20_000), z.null()]).transform((v) => v ?? ''),
});

export type ParsedJivoEvent =
  | { kind: 'chat'; event: JivoChatFinished }
  | { kind: 'offline'; event: JivoOfflineMessage }
  | { kind: 'ignored'; eventName: string }
  | { kind: 'invalid'; message: string };

/** The body of a Jivo webhook → what analytics does with it (or why it cannot be read). */
export function parseJivoEvent(body: unknown): ParsedJivoEvent {
  const head = jivoEventSchema.safeParse(body);
  if (!head.success) return { kind: 'invalid', message: 'event_name is missing' };
  const name = head.data.event_name;
  if (name === 'chat_finished') {
    const p = chatFinishedSchema.safeParse(body);
    if (!p.success) return { kind: 'invalid', message: p.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') };
    const d = p.data;
    return {
      kind: 'chat',
      event: {
        widgetId: d.widget_id,
        chatId: d.chat_id,
        userToken: d.user_token,
        visitor: d.visitor,
        messages: (d.chat?.messages ?? []).map((m) => ({ text: m.message, timestamp: m.timestamp, type: m.type })),
        blacklisted: d.chat?.blacklisted ?? false,
        invitation: d.chat?.invitation ?? null,
      },
    };
  }
  if (name === 'offline_message') {
    const p = offlineSchema.safeParse(body);
    if (!p.success) return { kind: 'invalid', message: p.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') };
    const d = p.data;
    return { kind: 'offline', event: { widgetId: d.widget_id, offlineMessageId: d.offline_message_id, userToken: d.user_token, visitor: d.visitor, message: d.message } };
  }
  return { kind: 'ignored', eventName: name.slice(0, 64) };
}
