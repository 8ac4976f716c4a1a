/**
 * Emulated Jivo (JivoSite): the channels of one Jivo account, each with its own `widget_id` and its
 * own «URL для Webhooks» («Управление → Каналы связи → … → Настройки интеграции для разработчиков
 * → Включить Webhooks»), the webhook sender with the documented bodies (payloads.ts), and the site
 * widget with its JS API (widget.client.js) for browser tests:
 *   GET  /widget/<widget_id>.js[?delay=ms]   the widget (CORS *)
 *   POST /widget/<widget_id>/message         what the widget sends when the visitor writes
 *   GET  /site?script=URL&script=URL…        a customer's site page loading the scripts in order
 *
 * Delivery (jivo.ru/docs/webhooks): POST, JSON body; the answer expected is `{"result":"ok"}`.
 * The docs name no retries, no signature and no timeout: each event is sent once (a failure is
 * recorded and the event is lost — the harsher reading), with a 3 s timeout.
 */
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { systemClock, type Clock } from '../../../server/domain/clock';
import * as payloads from './payloads';
import type { JivoChat, JivoVisitor } from './payloads';

export type { JivoChat, JivoMessage, JivoVisitor } from './payloads';
export { payloads };

const WIDGET_JS = readFileSync(new URL('./widget.client.js', import.meta.url), 'utf8');

export interface JivoChannel {
  widgetId: string;
  name: string;
  /** 'site' (the widget) or a messenger: 'telegram', 'whatsapp', 'vk', 'viber', 'instagram' … */
  type: string;
  /** «URL для Webhooks», null while webhooks are off for the channel */
  webhookUrl: string | null;
}

export interface JivoDelivery {
  widgetId: string;
  event: string;
  body: Record<string, unknown>;
  /** HTTP status, 0 when the request failed or timed out */
  status: number;
  response: string;
}

export interface JivoEmulator {
  origin: string;
  channels: JivoChannel[];
  chats: JivoChat[];
  deliveries: JivoDelivery[];
  addChannel(type: string, name?: string): JivoChannel;
  /** «Включить Webhooks» with this URL on a channel (null switches them off) */
  setWebhook(widgetId: string, url: string | null): void;
  /** A chat begins: in the site widget (type 'site' channel) or in a messenger. */
  startChat(o: { widgetId: string; visitor?: Partial<Omit<JivoVisitor, 'number' | 'chatsCount'>>; userToken?: string | null; text?: string; invitation?: string }): JivoChat;
  visitorWrites(chatId: number, text: string): void;
  agentWrites(chatId: number, text: string, agentId?: number): void;
  /** The agent closes the chat: `chat_finished` goes to the channel's webhook. */
  finishChat(chatId: number): Promise<JivoDelivery | null>;
  /** An offline-form message: `offline_message`. */
  offlineMessage(o: { widgetId: string; visitor?: Partial<Omit<JivoVisitor, 'number' | 'chatsCount'>>; message: string; userToken?: string | null }): Promise<JivoDelivery | null>;
  /** Send any body to a channel's webhook (duplicates, reordering, hand-made variants). */
  deliver(widgetId: string, body: Record<string, unknown>): Promise<JivoDelivery | null>;
  close(): Promise<void>;
}

export async function startJivoEmulator(o: { clock?: Clock } = {}): Promise<JivoEmulator> {
  const clock = o.clock ?? systemClock;
  let nextWidget = 3948;
  let nextChat = 7607;
  let nextVisitor = 2198;
  let nextOffline = 1665399500726;
  const channels: JivoChannel[] = [];
  const chats: JivoChat[] = [];
  const deliveries: JivoDelivery[] = [];
  const byVisitor = new Map<string, number>();

  const addChannel = (type: string, name?: string): JivoChannel => {
    const c: JivoChannel = { widgetId: String(nextWidget++), name: name ?? (type === 'site' ? 'example.com' : type), type, webhookUrl: null };
    channels.push(c);
    return c;
  };
  addChannel('site', 'Сайт example.com');
  addChannel('telegram', 'Telegram @example_bot');
  addChannel('whatsapp', 'WhatsApp +7 495 000-00-00');

  const channelOf = (widgetId: string): JivoChannel => {
    const c = channels.find((x) => x.widgetId === widgetId);
    if (!c) throw new Error(`no Jivo channel ${widgetId}`);
    return c;
  };
  const chatOf = (chatId: number): JivoChat => {
    const c = chats.find((x) => x.chatId === chatId);
    if (!c) throw new Error(`no Jivo chat ${chatId}`);
    return c;
  };
  const seconds = () => Math.floor(clock.now() / 1000);
  const visitorOf = (v: Partial<JivoVisitor> = {}): JivoVisitor => ({ ...v, number: String(nextVisitor++), chatsCount: 1 });

  async function deliver(widgetId: string, body: Record<string, unknown>): Promise<JivoDelivery | null> {
    const url = channelOf(widgetId).webhookUrl;
    if (!url) return null;
    const d: JivoDelivery = { widgetId, event: String(body.event_name), body, status: 0, response: '' };
    try {
      const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(3000) });
      d.status = r.status;
      d.response = await r.text();
    } catch (e) {
      d.response = String((e as Error).message);
    }
    deliveries.push(d);
    return d;
  }

  const startChat: JivoEmulator['startChat'] = (c) => {
    const ch = channelOf(c.widgetId);
    const chat: JivoChat = {
      chatId: nextChat++,
      widgetId: ch.widgetId,
      channelType: ch.type,
      visitor: visitorOf(c.visitor),
      userToken: c.userToken ?? null,
      messages: [],
      invitation: c.invitation ?? null,
      blacklisted: false,
      rate: null,
      pageUrl: ch.type === 'site' ? 'http://example.com/' : null,
      status: 'active',
    };
    if (c.invitation) chat.messages.push({ message: c.invitation, timestamp: seconds(), type: 'agent', agentId: Number(payloads.AGENTS[0]!.id) });
    if (c.text) chat.messages.push({ message: c.text, timestamp: seconds(), type: 'visitor' });
    chats.push(chat);
    return chat;
  };

  const app = express();
  app.disable('x-powered-by');
  app.get('/widget/:file', (req, res) => {
    const id = String(req.params.file).replace(/\.js$/, '');
    if (!channels.some((c) => c.widgetId === id && c.type === 'site')) return void res.status(404).type('text/plain').send('no such widget');
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.type('application/javascript; charset=utf-8').setHeader('Cache-Control', 'no-store').send(WIDGET_JS);
  });
  app.options('/widget/:id/message', (_req, res) => {
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.setHeader('Access-Control-Allow-Headers', 'content-type');
    res.status(204).end();
  });
  app.post('/widget/:id/message', express.text({ type: () => true }), (req, res) => {
    res.setHeader('Access-Control-Allow-Origin', '*');
    const ch = channels.find((c) => c.widgetId === req.params.id && c.type === 'site');
    let b: Record<string, unknown>;
    try {
      b = JSON.parse(String(req.body)) as Record<string, unknown>;
    } catch {
      return void res.status(400).json({ error: 'bad json' });
    }
    if (!ch || typeof b.text !== 'string' || typeof b.visitor !== 'string') return void res.status(400).json({ error: 'bad message' });
    const known = byVisitor.get(`${ch.widgetId}:${b.visitor}`);
    let chat = known !== undefined ? chats.find((c) => c.chatId === known && c.status === 'active') : undefined;
    if (!chat) {
      const visitor: Partial<JivoVisitor> = {};
      if (typeof b.name === 'string' && b.name) visitor.name = b.name;
      if (typeof b.phone === 'string' && b.phone) visitor.phone = b.phone;
      if (typeof b.email === 'string' && b.email) visitor.email = b.email;
      chat = startChat({ widgetId: ch.widgetId, visitor, userToken: typeof b.userToken === 'string' ? b.userToken : null });
      chat.pageUrl = typeof b.page === 'string' ? b.page : chat.pageUrl;
      byVisitor.set(`${ch.widgetId}:${b.visitor}`, chat.chatId);
    } else if (typeof b.userToken === 'string') {
      chat.userToken = b.userToken;
    }
    chat.messages.push({ message: b.text, timestamp: seconds(), type: 'visitor' });
    res.json({ chatId: chat.chatId });
  });
  app.get('/site', (req, res) => {
    const scripts = ([] as unknown[]).concat(req.query.script ?? []).map(String);
    const tags = scripts.map((s) => `<script src="${s.replace(/"/g, '&quot;')}"></script>`).join('\n');
    res.type('text/html; charset=utf-8').send(`<!doctype html><html><head><meta charset="utf-8"><title>example.com</title></head><body><h1>Интернет-магазин</h1>\n${tags}\n</body></html>`);
  });

  const server: Server = await new Promise((ok) => {
    const s = app.listen(0, '127.0.0.1', () => ok(s));
  });
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    origin,
    channels,
    chats,
    deliveries,
    addChannel,
    setWebhook(widgetId, url) {
      channelOf(widgetId).webhookUrl = url;
    },
    startChat,
    visitorWrites(chatId, text) {
      chatOf(chatId).messages.push({ message: text, timestamp: seconds(), type: 'visitor' });
    },
    agentWrites(chatId, text, agentId) {
      chatOf(chatId).messages.push({ message: text, timestamp: seconds(), type: 'agent', agentId: agentId ?? Number(payloads.AGENTS[0]!.id) });
    },
    async finishChat(chatId) {
      const chat = chatOf(chatId);
      chat.status = 'finished';
      return deliver(chat.widgetId, payloads.chatFinished(chat));
    },
    offlineMessage(m) {
      const ch = channelOf(m.widgetId);
      return deliver(
        ch.widgetId,
        payloads.offlineMessage({ widgetId: ch.widgetId, userToken: m.userToken ?? null, visitor: visitorOf(m.visitor), message: m.message, offlineMessageId: nextOffline++, channelType: ch.type, pageUrl: ch.type === 'site' ? 'http://example.com/contacts' : null }),
      );
    },
    deliver,
    close: () =>
      new Promise<void>((ok) => {
        server.close(() => ok());
        server.closeAllConnections();
      }),
  };
}
