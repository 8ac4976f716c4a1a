import { z } from 'zod';

/**
 * Wire shapes of the UIS Chat API callbacks (docs/facts/uis.md#chat-callbacks; Chat API docs «Обратные вызовы»):
 * one schema per callback, keyed by `METHOD /path`. The listener parses every verified callback
 * with `parseUisCallback` before anything is recorded, so every handler (recorder, channel
 * tracking, bridge, CRM rules) gets typed data: ids are digit strings, texts are strings, and a
 * body that does not fit is refused with a 400 and its reason (nothing recorded).
 *
 * Known fields are strict about their type and lenient about presence where the docs' examples
 * omit them; enumerations (`source`, `status`, `reason`, …) are plain bounded strings, so a value
 * UIS adds later is not refused (handlers compare with what they know). Unknown fields pass
 * through to the recorder; nesting is bounded by the listener (MAX_JSON_DEPTH).
 */

/** UIS ids are integers; some gateways send them as digit strings. Always a digit string here. */
export const uisId = z
  .union([z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER), z.string().regex(/^\d{1,20}$/, 'must be a numeric id')])
  .transform(String);
const optId = uisId.nullish();
const str = (max: number) => z.string().max(max);
const optStr = (max: number) => z.string().max(max).nullish();
/** `created_at`: ISO 8601 (parsed by domain/uis-time.ts parseChatApiTime). */
const time = optStr(64);
const enumText = optStr(64);
/** A phone or an e-mail of a visitor card: strings per the docs; a number is taken as its digits. */
const contactValue = z.union([z.string().max(320), z.number().int().nonnegative().transform(String)]);

const chatContext = z
  .object({ app_id: optId, chat_channel_id: optId, conversation_frame_ts: z.number().nullish() })
  .loose()
  .nullish();

export const resourceSchema = z
  .object({ id: uisId, token: str(512), type: enumText, name: optStr(1024), size: z.number().nonnegative().nullish() })
  .loose();

export const messageTemplateSchema = z
  .object({ id: z.number().int().nonnegative(), name: optStr(512), content: z.record(z.string(), z.unknown()).nullish() })
  .loose();

export const accountCallbackSchema = z
  .object({ id: optId, name: optStr(512), adapter_id: optId, client_id: optId, context: z.record(z.string(), z.unknown()).nullish(), status: enumText })
  .loose();

export const channelCallbackSchema = z
  .object({
    id: optId,
    name: optStr(512),
    type: enumText,
    account_id: optId,
    context: z
      .object({ app_id: optId, chat_channel_id: optId, message_templates: z.array(messageTemplateSchema).max(1000).nullish() })
      .loose()
      .nullish(),
    status: enumText,
  })
  .loose();

export const chatCallbackSchema = z
  .object({
    context: chatContext,
    account_id: optId,
    channel_id: uisId,
    chat_id: uisId,
    visitor_id: optId,
    visitor_phone: optStr(64),
    operator_id: optId,
    initiator: enumText,
    created_at: time,
  })
  .loose();

/** PATCH /chat (v2 «Обновление чата») and POST /chat/operator (v1). */
export const chatUpdateCallbackSchema = z
  .object({ context: chatContext, account_id: optId, channel_id: uisId, chat_id: uisId, visitor_id: optId, visitor_phone: optStr(64), operator_id: optId, initiator: enumText })
  .loose();

export const chatCloseCallbackSchema = z
  .object({ context: chatContext, account_id: optId, channel_id: optId, chat_id: uisId, operator_id: optId, reason: enumText })
  .loose();

/**
 * POST /message: «Новое сообщение», and in v2 also «Обновление сообщения» (the same `id`, without
 * `source`/`status`/`operator_id`). PATCH /message is accepted with the same shape.
 */
export const messageCallbackSchema = z
  .object({
    context: chatContext,
    account_id: optId,
    channel_id: optId,
    id: uisId,
    chat_id: uisId,
    source: enumText,
    operator_id: optId,
    reply_to_id: optId,
    text: z.string().nullish(),
    created_at: time,
    status: enumText,
    resource: resourceSchema.nullish(),
    system_message_mnemonic: enumText,
  })
  .loose();

export const messageStatusCallbackSchema = z
  .object({ context: chatContext, account_id: optId, channel_id: optId, chat_id: uisId, message_id: uisId, status: enumText })
  .loose();

export const visitorCardCallbackSchema = z
  .object({
    context: chatContext,
    account_id: optId,
    channel_id: optId,
    visitor_id: uisId,
    visitor_card: z
      .object({
        name: optStr(512),
        company: optStr(512),
        comment: optStr(4096),
        phones: z.array(contactValue).max(100).nullish(),
        emails: z.array(contactValue).max(100).nullish(),
      })
      .loose()
      .nullish(),
  })
  .loose();

/** Every callback the Chat API documents, by `METHOD /path` (an id in the path is taken off first). */
export const UIS_CALLBACK_SCHEMAS = {
  'POST /account': accountCallbackSchema,
  'PATCH /account': accountCallbackSchema,
  'DELETE /account': accountCallbackSchema,
  'POST /channel': channelCallbackSchema,
  'PATCH /channel': channelCallbackSchema,
  'DELETE /channel': channelCallbackSchema,
  'POST /chat': chatCallbackSchema,
  'PATCH /chat': chatUpdateCallbackSchema,
  'POST /chat/operator': chatUpdateCallbackSchema,
  'POST /chat/close': chatCloseCallbackSchema,
  'POST /message': messageCallbackSchema,
  'PATCH /message': messageCallbackSchema,
  'POST /message/status': messageStatusCallbackSchema,
  'POST /visitor/card': visitorCardCallbackSchema,
} as const;

export type UisCallbackRoute = keyof typeof UIS_CALLBACK_SCHEMAS;

/**
 * A verified, parsed callback. `route` tells the shape of `body`; `method` and `path` are as UIS
 * sent them (`/channel/12`), `pathId` is the id such a path carries (`"12"`), if any.
 */
export type UisCallback = {
  [R in UisCallbackRoute]: { route: R; method: string; path: string; pathId: string | null; body: z.output<(typeof UIS_CALLBACK_SCHEMAS)[R]> };
}[UisCallbackRoute];

/** The callback of one route, e.g. `CallbackOf<'POST /message'>`. */
export type CallbackOf<R extends UisCallbackRoute> = Extract<UisCallback, { route: R }>;
export type MessageCallbackBody = z.output<typeof messageCallbackSchema>;

export type ParsedCallback = { ok: true; callback: UisCallback } | { ok: false; status: 400 | 404; error: string; issues?: z.ZodError };

/** `/account/7` and `/channel/7` carry the entity's id in the path (PATCH, DELETE). */
const WITH_ID = /^\/(account|channel)\/(\d{1,20})$/;

/**
 * The callback a verified request names, parsed with its schema. An absent body (no JSON) counts
 * as `{}` for DELETE only. Unknown paths or methods are 404: UIS documents no others.
 */
export function parseUisCallback(method: string, path: string, body: unknown): ParsedCallback {
  const m = WITH_ID.exec(path);
  const base = m ? `/${m[1]}` : path;
  const route = `${method} ${base}`;
  if (!Object.hasOwn(UIS_CALLBACK_SCHEMAS, route)) return { ok: false, status: 404, error: `no UIS callback ${method} ${path}` };
  const schema = UIS_CALLBACK_SCHEMAS[route as UisCallbackRoute];
  const given = body === undefined && method === 'DELETE' ? {} : body;
  if (!given || typeof given !== 'object' || Array.isArray(given)) return { ok: false, status: 400, error: 'the body must be a JSON object' };
  const r = schema.safeParse(given);
  if (!r.success) return { ok: false, status: 400, error: 'the body does not match the callback', issues: r.error };
  return { ok: true, callback: { route, method, path, pathId: m ? m[2]! : null, body: r.data } as UisCallback };
}

/** Deepest nesting of objects/arrays in a JSON text, counted without parsing (strings skipped). */
export function jsonDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
      continue;
    }
    if (c === 34) inString = true;
    else if (c === 123 /* { */ || c === 91 /* [ */) {
      if (++depth > max) max = depth;
    } else if (c === 125 /* } */ || c === 93 /* ] */) depth--;
  }
  return max;
}

/** Callback bodies nest 4 levels at most (channel → context → templates → content); 32 is generous. */
export const MAX_JSON_DEPTH = 32;
