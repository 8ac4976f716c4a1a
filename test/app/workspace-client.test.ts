import { describe, expect, it } from 'vitest';
import { readClientContacts } from '../../app/bitrix/crm-contacts';
import { createFrameCommands, frameTarget } from '../../app/bitrix/frame-commands';

/** The workspace pages' SDK-free frame commands and CRM reads (issue #5), without a browser. */
describe('frameTarget', () => {
  const parent = {} as Window;
  it('when window.name is DOMAIN|PROTOCOL|APP_SID, then commands go to that origin with that sid', () => {
    expect(frameTarget({ name: 'portal.example:443|1|abc123', parent })).toEqual({ origin: 'https://portal.example', appSid: 'abc123' });
    expect(frameTarget({ name: '127.0.0.1:4100|0|sid', parent })).toEqual({ origin: 'http://127.0.0.1:4100', appSid: 'sid' });
  });
  it('when the page is not framed or the name is not the portal’s, then there is no target', () => {
    const self = { name: 'portal.example|1|abc' } as Window & { parent: Window };
    self.parent = self;
    expect(frameTarget(self)).toBeNull();
    expect(frameTarget({ name: '', parent })).toBeNull();
    expect(frameTarget({ name: 'portal.example|1|', parent })).toBeNull();
  });
});

describe('frame commands', () => {
  it('when a command is sent, then it is the raw protocol string, and the answer with its id resolves it', async () => {
    const posted: Array<[string, string]> = [];
    let listener: ((e: MessageEvent) => void) | undefined;
    const win = {
      name: 'portal.example|1|SID',
      parent: { postMessage: (m: string, o: string) => posted.push([m, o]) } as unknown as Window,
      addEventListener: (_t: string, l: (e: MessageEvent) => void) => (listener = l),
      document: { documentElement: { scrollHeight: 333 } } as Document,
    };
    const frame = createFrameCommands(win as never);
    const answer = frame.resizeWindow('100%', 700);
    const [message, origin] = posted[0]!;
    expect(origin).toBe('https://portal.example');
    // command:params:callbackId:appSid — the params may contain ':' (docs/facts/bitrix24-frame.md#parent-reply)
    const parts = message.split(':');
    const [cmd, params, id, sid] = [parts[0], parts.slice(1, -2).join(':'), parts.at(-2), parts.at(-1)];
    expect(cmd).toBe('resizeWindow');
    expect(JSON.parse(params)).toEqual({ width: '100%', height: 700 });
    expect(sid).toBe('SID');
    listener!({ origin: 'https://evil.example', data: `${id}:{"width":1}` } as MessageEvent); // ignored: wrong origin
    listener!({ origin: 'https://portal.example', data: `${id}:{"width":1000,"height":700}` } as MessageEvent);
    await expect(answer).resolves.toEqual({ width: 1000, height: 700 });

    void frame.fitWindow();
    expect(JSON.parse(posted[1]![0].split(':').slice(1, -2).join(':'))).toEqual({ width: '100%', height: 333 });
    frame.openApplication();
    expect(posted[2]![0]).toMatch(/^openApplication:\{\}:[^:]+:SID$/);
  });
});

describe('readClientContacts', () => {
  const auth = { accessToken: 'T1', restUrl: 'https://portal.example/rest/' };
  const reply = (status: number, body: unknown) => new Response(JSON.stringify(body), { status });

  it('when the portal answers the lead, then its phones and e-mails come back, sent with the user’s token in the body', async () => {
    const seen: Array<{ url: string; body: Record<string, unknown> }> = [];
    const fetch = async (url: string | URL | Request, init?: RequestInit) => {
      seen.push({ url: String(url), body: JSON.parse(String(init?.body)) });
      return reply(200, { result: { NAME: 'Иван', LAST_NAME: 'Петров', PHONE: [{ VALUE: '+79161234567' }], EMAIL: [{ VALUE: 'ivan@example.com' }] }, time: {} });
    };
    const r = await readClientContacts(auth, 'LEAD', '1', { fetch: fetch as typeof globalThis.fetch });
    expect(r).toEqual({ kind: 'ok', client: { name: 'Иван Петров', phones: ['+79161234567'], emails: ['ivan@example.com'] } });
    expect(seen).toEqual([{ url: 'https://portal.example/rest/crm.lead.get', body: { id: '1', auth: 'T1' } }]);
  });

  it('when the portal refuses or does not know the record, then "denied" / "not-found"', async () => {
    const denied = async () => reply(400, { error: '', error_description: 'Access denied.' });
    const missing = async () => reply(400, { error: '', error_description: 'Contact is not found' });
    expect(await readClientContacts(auth, 'LEAD', '3', { fetch: denied as never })).toEqual({ kind: 'denied' });
    expect(await readClientContacts(auth, 'CONTACT', '9', { fetch: missing as never })).toEqual({ kind: 'not-found' });
  });

  it('when the token expired, then it is renewed once through the parent and the call repeated', async () => {
    const tokens: unknown[] = [];
    const fetch = async (_url: string, init?: RequestInit) => {
      const body = JSON.parse(String(init?.body));
      tokens.push(body.auth);
      return body.auth === 'T1' ? reply(401, { error: 'expired_token', error_description: 'The access token provided has expired.' }) : reply(200, { result: { PHONE: [{ VALUE: '+7 903 123-45-67' }] } });
    };
    const r = await readClientContacts(auth, 'CONTACT', '1', { fetch: fetch as never, refresh: async () => 'T2' });
    expect(r).toMatchObject({ kind: 'ok', client: { phones: ['+7 903 123-45-67'] } });
    expect(tokens).toEqual(['T1', 'T2']);
  });

  it('when a deal is read, then its contacts’ data is used, primary first; none readable is "denied"', async () => {
    const fetch = async (url: string, init?: RequestInit) => {
      const body = JSON.parse(String(init?.body));
      if (url.endsWith('crm.deal.contact.items.get')) return reply(200, { result: [{ CONTACT_ID: 7, IS_PRIMARY: 'N' }, { CONTACT_ID: 5, IS_PRIMARY: 'Y' }] });
      if (body.id === '5') return reply(200, { result: { NAME: 'Пётр', PHONE: [{ VALUE: '+79031234567' }] } });
      return reply(200, { result: { NAME: 'Ольга', EMAIL: [{ VALUE: 'olga@example.com' }] } });
    };
    expect(await readClientContacts(auth, 'DEAL', '1', { fetch: fetch as never })).toEqual({
      kind: 'ok',
      client: { name: 'Пётр', phones: ['+79031234567'], emails: ['olga@example.com'] },
    });
    const hidden = async (url: string) =>
      url.endsWith('crm.deal.contact.items.get') ? reply(200, { result: [{ CONTACT_ID: 5, IS_PRIMARY: 'Y' }] }) : reply(400, { error: '', error_description: 'Access denied.' });
    expect(await readClientContacts(auth, 'DEAL', '1', { fetch: hidden as never })).toEqual({ kind: 'denied' });
  });
});
