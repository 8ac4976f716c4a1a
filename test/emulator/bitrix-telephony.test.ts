/**
 * The emulated portal's telephony against the REST docs (bitrix-tools/b24-rest-docs
 * api-reference/telephony/*) and the voximplant module source (yuliai/bitrix-modules @ a3a2a579:
 * voximplant/classes/general/vi_rest.php, voximplant/lib/rest/helper.php,
 * voximplant/classes/general/vi_crm_helper.php, crm/lib/activity/bindingselector.php), over real
 * HTTP: external lines, register (validation, 30-minute window, CRM search and bindings,
 * CRM_CREATE), show/hide, finish (statistics row, the call activity), attachRecord,
 * searchCrmEntities, ONEXTERNALCALLSTART / ONEXTERNALCALLBACKSTART and the portal pages.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import qs from 'qs';
import { afterEach, describe, expect, it } from 'vitest';
import type { Clock } from '../../server/domain/clock';
import { startBitrixEmulator, type EmulatedPortal } from './bitrix';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function fakeClock(start = Date.UTC(2026, 7, 21, 9, 0, 0)): Clock & { advance(ms: number): void } {
  let t = start;
  return { now: () => t, sleep: async (ms) => void (t += ms), advance: (ms) => void (t += ms) };
}

/** The app's event handler and a file server for RECORD_URL. */
async function startReceiver() {
  const hits: Array<{ path: string; raw: string; body: Json }> = [];
  const files: Record<string, { status: number; bytes: Buffer }> = {};
  const app = express();
  app.get('/files/{*rest}', (req, res) => {
    const f = files[req.path];
    if (!f) return void res.status(404).send('nope');
    res.status(f.status).type('application/octet-stream').send(f.bytes);
  });
  app.use(express.text({ type: () => true }));
  app.all('/{*rest}', (req, res) => {
    const raw = typeof req.body === 'string' ? req.body : '';
    hits.push({ path: req.path, raw, body: qs.parse(raw) as Json });
    res.send('ok');
  });
  const server: Server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits, files, close: () => new Promise<void>((r) => server.close(() => r())) };
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()?.();
});

const SCOPES = ['crm', 'imopenlines', 'imconnector', 'im', 'contact_center', 'placement', 'user', 'telephony'];

/** An MP3 as UIS serves it (ID3 + a silent frame). */
const MP3 = Buffer.concat([Buffer.from('ID3\u0004\u0000\u0000\u0000\u0000\u0000\u0000', 'latin1'), Buffer.from([0xff, 0xfb, 0x90, 0x64]), Buffer.alloc(413)]);

async function setup(o: { scopes?: string[]; install?: boolean } = {}) {
  const receiver = await startReceiver();
  const clock = fakeClock();
  const emu = await startBitrixEmulator({
    app: { clientId: 'local.tel1', clientSecret: 's3cret', appUrl: receiver.url, scopes: o.scopes ?? SCOPES },
    clock,
    rateLimit: { drainPerSec: 100, burst: 10_000 },
  });
  cleanups.push(receiver.close, emu.close);
  const portal = emu.portals[0] as EmulatedPortal;
  portal.beginInstall();
  const admin = portal.openApp().form.AUTH_ID as string;
  if (o.install !== false) await portal.finishInstall();
  const employee = o.install !== false ? (portal.openApp({ userId: portal.userId }).form.AUTH_ID as string) : '';
  const call = async (method: string, params: Json = {}, token = admin) => {
    const res = await fetch(`${portal.clientEndpoint}${method}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...params, auth: token }),
    });
    return { status: res.status, body: (await res.json()) as Json };
  };
  const register = (params: Json) => call('telephony.externalCall.register', { USER_ID: 1, TYPE: 2, ...params });
  return { portal, receiver, clock, admin, employee, call, register };
}

const err = (r: { status: number; body: Json }) => [r.status, r.body.error, r.body.error_description];

// ---------------------------------------------------------------------------------------------

describe('scope and external lines (telephony-external-line-*.md, Helper::addExternalLine…)', () => {
  it('the methods need the telephony scope', async () => {
    const { call } = await setup({ scopes: ['crm', 'user'] });
    const r = await call('telephony.externalLine.get');
    expect(r.status).toBe(401);
    expect(r.body.error).toBe('insufficient_scope');
  });

  it('add / get / update / delete with the module\'s errors (empty error code, HTTP 400)', async () => {
    const { call } = await setup();
    const added = await call('telephony.externalLine.add', { NUMBER: '74950000101', NAME: 'Основной' });
    expect(added.body.result).toEqual({ ID: expect.any(Number) });
    expect(err(await call('telephony.externalLine.add', { NUMBER: '74950000101' }))).toEqual([400, '', 'Line already exists']);
    expect(err(await call('telephony.externalLine.add', { NUMBER: '  ' }))).toEqual([400, '', 'NUMBER should not be empty']);
    await call('telephony.externalLine.add', { NUMBER: '74950000102', CRM_AUTO_CREATE: 'N' });
    expect((await call('telephony.externalLine.get')).body.result).toEqual([
      { NUMBER: '74950000101', NAME: 'Основной', CRM_AUTO_CREATE: 'Y' },
      { NUMBER: '74950000102', NAME: '', CRM_AUTO_CREATE: 'N' },
    ]);
    expect(err(await call('telephony.externalLine.update', { NUMBER: '74950000101' }))).toEqual([400, '', 'There are no fields to update']);
    expect(err(await call('telephony.externalLine.update', { NUMBER: '1', NAME: 'x' }))).toEqual([400, '', 'Could not find line with number 1']);
    expect((await call('telephony.externalLine.update', { NUMBER: '74950000101', NAME: 'Продажи' })).body.result).toEqual({ ID: String(added.body.result.ID) });
    expect((await call('telephony.externalLine.delete', { NUMBER: '74950000102' })).body.result).toEqual([]);
    expect(err(await call('telephony.externalLine.delete', { NUMBER: '74950000102' }))).toEqual([400, '', 'Could not find line with number 74950000102']);
  });
});

describe('telephony.externalCall.register (telephony-external-call-register.md, Helper::registerExternalCall)', () => {
  it('validates in the module\'s order and answers externalCall.<32 hex>.<ts>', async () => {
    const { call, register, portal } = await setup();
    expect(err(await call('telephony.externalCall.register', { PHONE_NUMBER: '79161234567', TYPE: 2 }))).toEqual([400, '', 'USER_ID or USER_PHONE_INNER should be set']);
    expect(err(await register({ PHONE_NUMBER: '79161234567', TYPE: 7 }))).toEqual([400, '', 'Unknown TYPE']);
    expect(err(await register({ PHONE_NUMBER: '79161234567', CALL_START_DATE: 'вчера' }))).toEqual([400, '', 'CALL_START_DATE should be in the ISO-8601 format']);
    expect(err(await register({ PHONE_NUMBER: 'abc' }))).toEqual([400, '', 'Unsupported phone number format']);
    expect(err(await register({ USER_ID: 4, PHONE_NUMBER: '79161234567' }))).toEqual([400, '', 'User is not found or is not active']);
    const ok = await register({ USER_ID: undefined, USER_PHONE_INNER: '102', PHONE_NUMBER: '+7 (999) 000-11-22', LINE_NUMBER: '74950000101', EXTERNAL_CALL_ID: '237859081' });
    expect(ok.body.result).toEqual({ CALL_ID: expect.stringMatching(/^externalCall\.[0-9a-f]{32}\.\d+$/), CRM_CREATED_LEAD: null, CRM_CREATED_ENTITIES: [], CRM_ENTITY_TYPE: '', CRM_ENTITY_ID: null });
    const live = portal.telephony.calls.get(ok.body.result.CALL_ID)!;
    expect(live).toMatchObject({ userId: 2, phone: '+79990001122', type: 2, externalCallId: '237859081', portalNumber: '74950000101' });
    // an unknown LINE_NUMBER creates the line, without a name
    expect((await call('telephony.externalLine.get')).body.result).toEqual([{ NUMBER: '74950000101', NAME: null, CRM_AUTO_CREATE: 'Y' }]);
  });

  it('finds the client by phone: the contact is the primary entity, the activity bindings are its open deals and the contact', async () => {
    const { register, portal } = await setup();
    const r = await register({ PHONE_NUMBER: '+7 903 123-45-67' });
    expect(r.body.result).toMatchObject({ CRM_ENTITY_TYPE: 'CONTACT', CRM_ENTITY_ID: 1 });
    // bindingselector.php: the contact's open deals, then the contact (its company has another number)
    expect(portal.telephony.calls.get(r.body.result.CALL_ID)!.bindings).toEqual([
      { OWNER_TYPE_ID: 2, OWNER_ID: 1 },
      { OWNER_TYPE_ID: 3, OWNER_ID: 1 },
    ]);
    const lead = await register({ PHONE_NUMBER: '79161234567' });
    expect(lead.body.result).toMatchObject({ CRM_ENTITY_TYPE: 'LEAD', CRM_ENTITY_ID: 1 });
  });

  it('30-minute window among unfinished calls: same user, number, type, line and EXTERNAL_CALL_ID when passed', async () => {
    const { register, clock, call } = await setup();
    const first = (await register({ PHONE_NUMBER: '79990001122', LINE_NUMBER: '74950000101', EXTERNAL_CALL_ID: 's1' })).body.result.CALL_ID;
    expect((await register({ PHONE_NUMBER: '79990001122', LINE_NUMBER: '74950000101', EXTERNAL_CALL_ID: 's1', CRM_ENTITY_TYPE: 'CONTACT', CRM_ENTITY_ID: 1 })).body.result.CALL_ID).toBe(first);
    // without EXTERNAL_CALL_ID the key does not look at it: the same live call comes back
    expect((await register({ PHONE_NUMBER: '79990001122', LINE_NUMBER: '74950000101' })).body.result.CALL_ID).toBe(first);
    expect((await register({ PHONE_NUMBER: '79990001122', LINE_NUMBER: '74950000101', EXTERNAL_CALL_ID: 's2' })).body.result.CALL_ID).not.toBe(first);
    expect((await register({ PHONE_NUMBER: '79990001122', LINE_NUMBER: '74950000101', EXTERNAL_CALL_ID: 's1', TYPE: 1 })).body.result.CALL_ID).not.toBe(first);
    clock.advance(31 * 60_000);
    expect((await register({ PHONE_NUMBER: '79990001122', LINE_NUMBER: '74950000101', EXTERNAL_CALL_ID: 's1' })).body.result.CALL_ID).not.toBe(first);
    // finished calls are gone from the window
    const a = (await register({ PHONE_NUMBER: '79990003344' })).body.result.CALL_ID;
    await call('telephony.externalCall.finish', { CALL_ID: a, USER_ID: 1, DURATION: 5 });
    expect((await register({ PHONE_NUMBER: '79990003344' })).body.result.CALL_ID).not.toBe(a);
    // the window is measured from DATE_CREATE = CALL_START_DATE
    const old = (await register({ PHONE_NUMBER: '79990005566', CALL_START_DATE: new Date(clock.now() - 40 * 60_000).toISOString() })).body.result.CALL_ID;
    expect((await register({ PHONE_NUMBER: '79990005566' })).body.result.CALL_ID).not.toBe(old);
  });

  it('CRM_CREATE=1: a lead for an unknown number; finish gives it to the finishing user; LEAD_CREATION_ERROR inside a 200', async () => {
    const { register, call, portal } = await setup();
    const r = await register({ USER_ID: 2, PHONE_NUMBER: '79991112233', CRM_CREATE: 1, LINE_NUMBER: '74950000101' });
    const lead = r.body.result.CRM_CREATED_LEAD as number;
    expect(r.body.result).toEqual({ CALL_ID: expect.any(String), CRM_CREATED_LEAD: lead, CRM_CREATED_ENTITIES: [{ ENTITY_TYPE: 'LEAD', ENTITY_ID: lead }], CRM_ENTITY_TYPE: 'LEAD', CRM_ENTITY_ID: lead });
    expect(portal.crm.leads().find((l) => l.ID === String(lead))).toMatchObject({ TITLE: '+7 999 111-22-33 - Входящий звонок', SOURCE_ID: 'CALL', ASSIGNED_BY_ID: '2', SOURCE_DESCRIPTION: 'Звонок на номер +7 495 000-01-01' });
    await call('telephony.externalCall.finish', { CALL_ID: r.body.result.CALL_ID, USER_ID: 1, DURATION: 30 });
    expect(portal.crm.leads().find((l) => l.ID === String(lead))!.ASSIGNED_BY_ID).toBe('1');
    // a known client: nothing created; existing items keep their responsible at finish
    const known = await register({ USER_ID: 2, PHONE_NUMBER: '79031234567', CRM_CREATE: 1 });
    expect(known.body.result.CRM_CREATED_LEAD).toBeNull();
    await call('telephony.externalCall.finish', { CALL_ID: known.body.result.CALL_ID, USER_ID: 2, DURATION: 10 });
    expect(portal.crm.contacts()[0]!.ASSIGNED_BY_ID).toBe('1');
    // an employee's own mobile: getLeadFields refuses, the error rides in a successful answer
    const local = await register({ USER_ID: 1, PHONE_NUMBER: '+79035550102', CRM_CREATE: 1 });
    expect(local.status).toBe(200);
    expect(local.body.result).toMatchObject({ CRM_CREATED_LEAD: null, LEAD_CREATION_ERROR: 'Lead creation is disabled for local users' });
    // an internal number (UF_PHONE_INNER): no CRM at all
    const inner = await register({ USER_ID: 1, PHONE_NUMBER: '102', CRM_CREATE: 1 });
    expect(inner.body.result).toMatchObject({ CRM_CREATED_LEAD: null });
    expect(inner.body.result).not.toHaveProperty('LEAD_CREATION_ERROR');
    // simple CRM mode: contact + deal
    portal.telephony.settings.crmMode = 'simple';
    const simple = await register({ USER_ID: 2, PHONE_NUMBER: '79994445566', CRM_CREATE: 1 });
    expect(simple.body.result.CRM_CREATED_ENTITIES.map((e: Json) => e.ENTITY_TYPE)).toEqual(['CONTACT', 'DEAL']);
    expect(simple.body.result.CRM_CREATED_LEAD).toBeNull();
  });
});

describe('show / hide and the call card (telephony-external-call-show.md, Helper::showExternalCall)', () => {
  it('SHOW=1 shows the card to the registering user; show/hide to users; unknown call → false; finish hides only the finisher\'s card', async () => {
    const { register, call, portal } = await setup();
    const id = (await register({ PHONE_NUMBER: '79031234567', LINE_NUMBER: '74950000101' })).body.result.CALL_ID as string;
    expect(portal.telephony.visibleCards(1).map((c) => c.callId)).toEqual([id]);
    expect((await call('telephony.externalCall.show', { CALL_ID: id, USER_ID: [2, 3] })).body.result).toBe(true);
    expect(portal.telephony.visibleCards(2)[0]).toMatchObject({ callId: id, phone: '79031234567', crmEntityType: 'CONTACT', crmEntityId: 1, lineNumber: '74950000101' });
    expect((await call('telephony.externalCall.hide', { CALL_ID: id, USER_ID: 3 })).body.result).toBe(true);
    expect(portal.telephony.visibleCards(3)).toEqual([]);
    expect((await call('telephony.externalCall.show', { CALL_ID: 'externalCall.x.1' })).body.result).toBe(false);
    expect((await call('telephony.externalCall.hide', { CALL_ID: 'externalCall.x.1' })).body.result).toBe(false);
    const silent = (await register({ PHONE_NUMBER: '79990000001', SHOW: 0 })).body.result.CALL_ID;
    expect(portal.telephony.visibleCards(1).map((c) => c.callId)).not.toContain(silent);
    await call('telephony.externalCall.finish', { CALL_ID: id, USER_ID: 2, DURATION: 3 });
    expect(portal.telephony.visibleCards(2)).toEqual([]);
    expect(portal.telephony.visibleCards(1).map((c) => c.callId)).toContain(id); // nobody hid it
    expect((await call('telephony.externalCall.hide', { CALL_ID: id, USER_ID: 1 })).body.result).toBe(false); // the call is gone
  });
});

describe('telephony.externalCall.finish (telephony-external-call-finish.md, Helper::finishExternalCall, CVoxImplantCrmHelper::AddCall)', () => {
  it('errors: CALL_ID not a string (INVALID_ARGUMENT), unknown or finished call and inactive user with an empty code', async () => {
    const { register, call } = await setup();
    expect(err(await call('telephony.externalCall.finish', { CALL_ID: 5, USER_ID: 1 }))).toEqual([400, 'INVALID_ARGUMENT', 'CALL_ID must be a string']);
    expect(err(await call('telephony.externalCall.finish', { CALL_ID: 'externalCall.x.1', USER_ID: 1 }))).toEqual([400, '', 'Call is not found (call should be registered prior to finishing']);
    const id = (await register({ PHONE_NUMBER: '79031234567' })).body.result.CALL_ID;
    expect(err(await call('telephony.externalCall.finish', { CALL_ID: id, USER_ID: 4 }))).toEqual([400, '', 'User is not found or is not active']);
    expect(err(await call('telephony.externalCall.finish', { CALL_ID: id }))).toEqual([400, '', 'USER_ID or USER_PHONE_INNER should be set']);
    expect((await call('telephony.externalCall.finish', { CALL_ID: id, USER_PHONE_INNER: '101', DURATION: 10 })).status).toBe(200);
    expect(err(await call('telephony.externalCall.finish', { CALL_ID: id, USER_ID: 1 }))).toEqual([400, '', 'Call is not found (call should be registered prior to finishing']);
  });

  it('the statistics row: default STATUS_CODE by duration, the documented shape', async () => {
    const { register, call } = await setup();
    const id = (await register({ PHONE_NUMBER: '79031234567', LINE_NUMBER: '74950000101', EXTERNAL_CALL_ID: 'e1' })).body.result.CALL_ID;
    const r = (await call('telephony.externalCall.finish', { CALL_ID: id, USER_ID: 2, DURATION: 95, VOTE: 5 })).body.result;
    expect(r).toEqual({
      CALL_ID: id,
      EXTERNAL_CALL_ID: 'e1',
      PORTAL_USER_ID: 2,
      PHONE_NUMBER: '79031234567',
      PORTAL_NUMBER: '74950000101',
      INCOMING: '2',
      CALL_DURATION: 95,
      CALL_START_DATE: {},
      CALL_STATUS: 1,
      CALL_VOTE: 5,
      COST: 0,
      COST_CURRENCY: '',
      CALL_FAILED_CODE: '200',
      CALL_FAILED_REASON: '',
      REST_APP_ID: expect.stringMatching(/^\d+$/),
      REST_APP_NAME: 'UIS OMNI',
      CRM_ACTIVITY_ID: expect.any(Number),
      COMMENT: null,
      CRM_ENTITY_TYPE: 'CONTACT',
      CRM_ENTITY_ID: 1,
      ID: expect.any(Number),
    });
    const missed = await register({ PHONE_NUMBER: '79031234567' });
    const m = (await call('telephony.externalCall.finish', { CALL_ID: missed.body.result.CALL_ID, USER_ID: 1 })).body.result;
    expect([m.CALL_FAILED_CODE, m.CALL_STATUS, m.CALL_DURATION]).toEqual(['304', 0, 0]);
  });

  it('one call activity per call; COMPLETED by TYPE and STATUS_CODE; bound to the contact and its open deal', async () => {
    const { register, call, portal } = await setup();
    const finish = async (type: number, status?: string, duration = 0) => {
      const id = (await register({ PHONE_NUMBER: '79031234567', TYPE: type })).body.result.CALL_ID;
      const r = await call('telephony.externalCall.finish', { CALL_ID: id, USER_ID: 2, DURATION: duration, ...(status ? { STATUS_CODE: status } : {}) });
      return portal.crm.activities().find((a) => a.id === r.body.result.CRM_ACTIVITY_ID)!;
    };
    const missedIn = await finish(2);
    expect(missedIn).toMatchObject({ providerId: 'VOXIMPLANT_CALL', completed: 'N', responsibleId: 2, subject: 'Входящий звонок +7 903 123-45-67', originId: expect.stringMatching(/^VI_externalCall\./) });
    expect(missedIn.call).toMatchObject({ missed: true, direction: 1, statusCode: '304', bindings: [{ ownerType: 'DEAL', ownerId: 1 }, { ownerType: 'CONTACT', ownerId: 1 }] });
    expect((await finish(2, '200', 40)).completed).toBe('Y');
    expect((await finish(1, '304')).completed).toBe('Y'); // outgoing: always completed
    expect((await finish(3, '304')).completed).toBe('Y'); // incoming with redirect never stays open
    expect((await finish(4, '304')).completed).toBe('N'); // callback like incoming
    const listed = await call('crm.activity.list', { filter: { OWNER_TYPE_ID: 2, OWNER_ID: 1, PROVIDER_ID: 'VOXIMPLANT_CALL', COMPLETED: 'N' } });
    expect(listed.body.result.map((a: Json) => a.ID)).toEqual([String(missedIn.id), expect.any(String)]);
    expect(listed.body.result[0]).toMatchObject({ TYPE_ID: '2', DIRECTION: '1', SETTINGS: { MISSED_CALL: true } });
    // the same activity is listed under each of its bindings (the contact too, not only the first owner)
    const byContact = await call('crm.activity.list', { filter: { OWNER_TYPE_ID: 3, OWNER_ID: 1, PROVIDER_ID: 'VOXIMPLANT_CALL' } });
    expect(byContact.body.result.map((a: Json) => a.ID)).toContain(String(missedIn.id));
  });

  it('crm.activity.get / update: an open missed-call activity can be completed later (docs/facts/telephony.md#manual-mechanics «Обработано»)', async () => {
    const { register, call, employee } = await setup();
    const id = (await register({ PHONE_NUMBER: '79031234567' })).body.result.CALL_ID;
    const act = (await call('telephony.externalCall.finish', { CALL_ID: id, USER_ID: 1 })).body.result.CRM_ACTIVITY_ID as number;
    expect((await call('crm.activity.get', { id: act })).body.result).toMatchObject({ ID: String(act), COMPLETED: 'N', PROVIDER_ID: 'VOXIMPLANT_CALL', TYPE_ID: '2' });
    expect((await call('crm.activity.update', { id: act, fields: { COMPLETED: 'Y' } })).body.result).toBe(true);
    expect((await call('crm.activity.get', { id: act })).body.result.COMPLETED).toBe('Y');
    expect(err(await call('crm.activity.get', { id: 99_999 }))).toEqual([400, '', 'Activity is not found.']);
    // the owner (deal 1) is OPENED=Y, so the employee may update it too ("own + open")
    expect((await call('crm.activity.update', { id: act, fields: { SUBJECT: 'x' } }, employee)).body.result).toBe(true);
  });

  it('no CRM item: ERRORS.ACTIVITY_CREATION; bindings are fixed at register, a finish-time search only when there were none', async () => {
    const { register, call, portal } = await setup();
    const none = (await register({ PHONE_NUMBER: '79990009999' })).body.result.CALL_ID;
    const r = (await call('telephony.externalCall.finish', { CALL_ID: none, USER_ID: 1 })).body.result;
    expect(r.CRM_ACTIVITY_ID).toBe(false);
    expect(r.ERRORS).toEqual({ ACTIVITY_CREATION: 'Could not find associated crm entity for the current call' });
    // unknown at register, a lead created before finish: found by the finish-time search
    const id = (await register({ PHONE_NUMBER: '79990008888' })).body.result.CALL_ID;
    const lead = await call('crm.lead.add', { fields: { TITLE: 'Новый', PHONE: [{ VALUE: '+79990008888' }] } });
    const f = (await call('telephony.externalCall.finish', { CALL_ID: id, USER_ID: 1, DURATION: 7 })).body.result;
    expect(portal.crm.activities().find((a) => a.id === f.CRM_ACTIVITY_ID)!.call!.bindings).toEqual([{ ownerType: 'LEAD', ownerId: lead.body.result }]);
    // the contact was known at register: a deal made afterwards is not among the bindings
    const c = (await register({ PHONE_NUMBER: '79031234567' })).body.result.CALL_ID;
    const deal = await call('crm.deal.add', { fields: { TITLE: 'Новая сделка', CONTACT_ID: 1 } });
    const g = (await call('telephony.externalCall.finish', { CALL_ID: c, USER_ID: 1, DURATION: 7 })).body.result;
    const bound = portal.crm.activities().find((a) => a.id === g.CRM_ACTIVITY_ID)!.call!.bindings;
    expect(bound).not.toContainEqual({ ownerType: 'DEAL', ownerId: deal.body.result });
  });

  it('ADD_TO_CHAT: vi_rest passes `ADD_TO_CHAT != false`, so only an explicit 1 posts the message', async () => {
    const { register, call, portal } = await setup();
    const a = (await register({ PHONE_NUMBER: '79031234567' })).body.result.CALL_ID;
    await call('telephony.externalCall.finish', { CALL_ID: a, USER_ID: 1 });
    expect(portal.telephony.chat).toHaveLength(0);
    const b = (await register({ PHONE_NUMBER: '79031234567' })).body.result.CALL_ID;
    await call('telephony.externalCall.finish', { CALL_ID: b, USER_ID: 1, ADD_TO_CHAT: 1 });
    expect(portal.telephony.chat).toEqual([expect.objectContaining({ userId: 1, text: 'Пропущенный звонок с номера +7 903 123-45-67' })]);
  });
});

describe('telephony.externalCall.attachRecord (telephony-external-call-attach-record.md, Helper::attachRecord*)', () => {
  async function finished() {
    const ctx = await setup();
    const id = (await ctx.register({ PHONE_NUMBER: '79031234567' })).body.result.CALL_ID as string;
    return { ...ctx, id };
  }

  it('only after finish; file name, extension and content checks', async () => {
    const { call, id } = await finished();
    const attach = (p: Json) => call('telephony.externalCall.attachRecord', { CALL_ID: id, ...p });
    expect(err(await attach({ FILENAME: 'a.mp3', FILE_CONTENT: MP3.toString('base64') }))).toEqual([400, '', 'Call is not found in the statistic table. Looks like it is not finished yet.']);
    await call('telephony.externalCall.finish', { CALL_ID: id, USER_ID: 1, DURATION: 20 });
    expect(err(await attach({}))).toEqual([400, '', 'Required parameters are not set. Request should contain or URL or FILENAME parameter']);
    expect(err(await attach({ FILENAME: '', FILE_CONTENT: 'AAAA' }))).toEqual([400, '', 'File name is empty']);
    expect(err(await attach({ FILENAME: 'rec.ogg', FILE_CONTENT: 'AAAA' }))).toEqual([400, '', 'Wrong file extension. Only wav and mp3 are allowed']);
    expect(err(await attach({ FILENAME: 'rec.MP3', FILE_CONTENT: MP3.toString('base64') }))).toEqual([400, '', 'Wrong file extension. Only wav and mp3 are allowed']);
    expect(err(await attach({ FILENAME: 'rec.mp3', FILE_CONTENT: '' }))).toEqual([400, '', 'File content is empty.']);
    expect(err(await attach({ FILENAME: 'rec.mp3', FILE_CONTENT: '====' }))).toEqual([400, '', 'File content is not properly encoded. Base64 encoding is expected.']);
    expect(err(await attach({ FILENAME: 'rec.mp3', FILE_CONTENT: Buffer.from('<html>not audio</html>').toString('base64') }))).toEqual([400, '', 'Неверный тип файла']);
  });

  it('base64 content attaches to the call activity; a second record replaces it', async () => {
    const { call, id, portal } = await finished();
    const f = (await call('telephony.externalCall.finish', { CALL_ID: id, USER_ID: 1, DURATION: 20 })).body.result;
    const a = await call('telephony.externalCall.attachRecord', { CALL_ID: id, FILENAME: 'uis-1.mp3', FILE_CONTENT: MP3.toString('base64') });
    expect(a.body.result).toEqual({ FILE_ID: expect.any(Number) });
    const b = await call('telephony.externalCall.attachRecord', { CALL_ID: id, FILENAME: 'uis-2.mp3', FILE_CONTENT: MP3.toString('base64') });
    const act = portal.crm.activities().find((x) => x.id === f.CRM_ACTIVITY_ID)!;
    expect(act.call!.fileIds).toEqual([b.body.result.FILE_ID]);
  });

  it('RECORD_URL is fetched by the portal: non-200 is an error; a link without an extension needs FILENAME', async () => {
    const { call, id, receiver } = await finished();
    await call('telephony.externalCall.finish', { CALL_ID: id, USER_ID: 1, DURATION: 20 });
    receiver.files['/files/1001/55120001'] = { status: 200, bytes: MP3 };
    expect(err(await call('telephony.externalCall.attachRecord', { CALL_ID: id, RECORD_URL: `${receiver.url}/files/missing` }))).toEqual([400, '', 'Server returns HTTP error code 404']);
    expect(err(await call('telephony.externalCall.attachRecord', { CALL_ID: id, RECORD_URL: `${receiver.url}/files/1001/55120001` }))).toEqual([400, '', 'Неверный тип файла']);
    const ok = await call('telephony.externalCall.attachRecord', { CALL_ID: id, RECORD_URL: `${receiver.url}/files/1001/55120001`, FILENAME: 'uis-1001.mp3' });
    expect(ok.body.result).toEqual({ FILE_ID: expect.any(Number) });
  });

  it('FILENAME alone gives an uploadUrl; a multipart POST of field "file" there attaches it', async () => {
    const { call, id, portal } = await finished();
    await call('telephony.externalCall.finish', { CALL_ID: id, USER_ID: 1, DURATION: 20 });
    const r = (await call('telephony.externalCall.attachRecord', { CALL_ID: id, FILENAME: 'big.mp3' })).body.result;
    expect(r).toEqual({ uploadUrl: expect.stringContaining(`${portal.clientEndpoint}upload.json?auth=`), fieldName: 'file' });
    const fd = new FormData();
    fd.append('file', new Blob([MP3]), 'big.mp3');
    const up = await fetch(r.uploadUrl, { method: 'POST', body: fd });
    expect(up.status).toBe(200);
    expect(((await up.json()) as Json).result).toEqual({ FILE_ID: expect.any(Number) });
    const forged = await fetch(r.uploadUrl.replace(/token=[^&]+/, 'token=telephony%7Cx%7Cy'), { method: 'POST', body: fd });
    expect(forged.status).toBe(400);
  });
});

describe('searchCrmEntities and attachTranscription', () => {
  it('searchCrmEntities: one item per type, contacts first, the responsible\'s phones and timeman state', async () => {
    const { call } = await setup();
    const r = await call('telephony.externalCall.searchCrmEntities', { PHONE_NUMBER: '8 (903) 123-45-67' });
    expect(r.body.result).toEqual([
      {
        CRM_ENTITY_TYPE: 'CONTACT',
        CRM_ENTITY_ID: 1,
        ASSIGNED_BY_ID: 1,
        NAME: 'Пётр Клиентов',
        ASSIGNED_BY: { ID: '1', TIMEMAN_STATUS: 'UNAVAILABLE', USER_PHONE_INNER: '101', WORK_PHONE: null, PERSONAL_PHONE: null, PERSONAL_MOBILE: null },
      },
    ]);
    expect(err(await call('telephony.externalCall.searchCrmEntities', { PHONE_NUMBER: '' }))).toEqual([400, '', 'PHONE_NUMBER is empty']);
  });

  it('telephony.call.attachTranscription: message checks, only for finished calls', async () => {
    const { call, register } = await setup();
    const id = (await register({ PHONE_NUMBER: '79031234567' })).body.result.CALL_ID;
    const msgs = [{ SIDE: 'Client', START_TIME: 0, STOP_TIME: 3, MESSAGE: 'Здравствуйте' }];
    expect(err(await call('telephony.call.attachTranscription', { CALL_ID: id, MESSAGES: msgs }))).toEqual([400, '', `Call ${id} is not found. Is it finished?`]);
    await call('telephony.externalCall.finish', { CALL_ID: id, USER_ID: 1, DURATION: 3 });
    expect(err(await call('telephony.call.attachTranscription', { CALL_ID: id, MESSAGES: [{ ...msgs[0], SIDE: 'Bot' }] }))).toEqual([400, '', 'MESSAGES[0][SIDE] should be either Client or User']);
    expect((await call('telephony.call.attachTranscription', { CALL_ID: id, MESSAGES: msgs })).body.result).toEqual({ TRANSCRIPT_ID: expect.any(Number) });
  });
});

describe('ONEXTERNALCALLSTART / ONEXTERNALCALLBACKSTART (events/on-external-call-start.md, on-external-call-back-start.md)', () => {
  it('a click on a number: the portal registers TYPE 1 itself, then the event with CALL_ID; the generic app line has an empty LINE_NUMBER', async () => {
    const { call, portal, receiver, register } = await setup();
    await call('event.bind', { event: 'ONEXTERNALCALLSTART', handler: `${receiver.url}/b24/events` });
    // the default outgoing line is Bitrix24's own: nothing reaches the app
    expect(portal.clickToCall({ userId: 2, phone: '+79031234567', entityType: 'CONTACT', entityId: 1 }).started).toBe(false);
    portal.telephony.settings.defaultOutgoingLine = { kind: 'app' };
    const out = portal.clickToCall({ userId: 2, phone: '+79031234567', entityType: 'CONTACT', entityId: 1 });
    await portal.drainEvents();
    const hit = receiver.hits.find((h) => h.body.event === 'ONEXTERNALCALLSTART')!;
    expect(hit.body.data).toEqual({
      PHONE_NUMBER: '+79031234567',
      PHONE_NUMBER_INTERNATIONAL: '+79031234567',
      EXTENSION: '',
      USER_ID: '2',
      CALL_LIST_ID: '0',
      LINE_NUMBER: '',
      IS_MOBILE: '0',
      CALL_ID: out.callId,
      CRM_ENTITY_TYPE: 'CONTACT',
      CRM_ENTITY_ID: '1',
    });
    expect(hit.body.auth).toMatchObject({ member_id: portal.memberId, application_token: portal.state().applicationToken, access_token: expect.any(String), refresh_token: expect.any(String) });
    expect(portal.telephony.calls.get(out.callId!)).toMatchObject({ type: 1, userId: 2, externalCallId: null });
    // the app must not register again: a register without EXTERNAL_CALL_ID lands on the same call
    expect((await register({ USER_ID: 2, TYPE: 1, PHONE_NUMBER: '+79031234567' })).body.result.CALL_ID).toBe(out.callId);
  });

  it('an unknown number from a line that creates CRM items: CRM_CREATED_LEAD rides along; without CRM item CRM_ENTITY_ID is absent (or 0 when switched)', async () => {
    const { call, portal, receiver } = await setup();
    await call('event.bind', { event: 'ONEXTERNALCALLSTART', handler: `${receiver.url}/b24/events` });
    await call('telephony.externalLine.add', { NUMBER: '74950000101', NAME: 'Основной' });
    await call('telephony.externalLine.add', { NUMBER: '74950000103', NAME: 'Без CRM', CRM_AUTO_CREATE: 'N' });
    portal.telephony.settings.defaultOutgoingLine = { kind: 'line', number: '74950000101' };
    portal.clickToCall({ userId: 1, phone: '89997776655' });
    portal.telephony.settings.userOutgoingLines.set(2, { kind: 'line', number: '74950000103' });
    portal.clickToCall({ userId: 2, phone: '89997776644' });
    portal.telephony.settings.clickEntityIdWhenNone = 'zero';
    portal.clickToCall({ userId: 2, phone: '89997776633' });
    await portal.drainEvents();
    const [created, plain, zero] = receiver.hits.filter((h) => h.body.event === 'ONEXTERNALCALLSTART').map((h) => h.body.data as Json);
    expect(created).toMatchObject({ LINE_NUMBER: '74950000101', PHONE_NUMBER_INTERNATIONAL: '+79997776655', CRM_ENTITY_TYPE: 'LEAD', CRM_CREATED_LEAD: expect.stringMatching(/^\d+$/), CRM_CREATED_ENTITIES: [{ ENTITY_TYPE: 'LEAD', ENTITY_ID: expect.any(String) }] });
    expect(plain).toMatchObject({ LINE_NUMBER: '74950000103', CRM_ENTITY_TYPE: '' });
    expect(plain).not.toHaveProperty('CRM_ENTITY_ID');
    expect(plain).not.toHaveProperty('CRM_CREATED_LEAD');
    expect(zero!.CRM_ENTITY_ID).toBe('0');
  });

  it('nothing before installFinish; the callback form sends ONEXTERNALCALLBACKSTART with the form\'s lead', async () => {
    const { call, portal, receiver } = await setup();
    await call('event.bind', { event: 'ONEXTERNALCALLBACKSTART', handler: `${receiver.url}/b24/events` });
    expect(portal.submitCallbackForm({ name: 'Ольга', phone: '+79161110000' }).started).toBe(false); // the form calls through Bitrix24
    portal.telephony.settings.callbackForm.line = { kind: 'app' };
    const r = portal.submitCallbackForm({ name: 'Ольга', phone: '+79161110000' });
    await portal.drainEvents();
    const hit = receiver.hits.find((h) => h.body.event === 'ONEXTERNALCALLBACKSTART')!;
    expect(hit.body.data).toEqual({ PHONE_NUMBER: '+79161110000', TEXT: 'Заказан обратный звонок с сайта, соединяю вас с клиентом', VOICE: 'ruinternalfemale', CRM_ENTITY_TYPE: 'LEAD', CRM_ENTITY_ID: String(r.leadId), LINE_NUMBER: '' });
    expect(portal.crm.leads().find((l) => l.ID === String(r.leadId))).toMatchObject({ SOURCE_ID: 'CALLBACK', NAME: 'Ольга' });
    expect(portal.telephony.calls.size).toBe(0); // nothing registered
  });
});

describe('portal pages and limits', () => {
  it('the CRM card\'s phone starts click-to-call; the card pops up; the timeline shows the call with its record', async () => {
    const { call, portal, receiver, register } = await setup();
    await call('event.bind', { event: 'ONEXTERNALCALLSTART', handler: `${receiver.url}/b24/events` });
    portal.telephony.settings.defaultOutgoingLine = { kind: 'app' };
    const card = await (await fetch(`${portal.origin}/crm/contact/details/1/?user=1`)).text();
    expect(card).toContain('class="phone-link"');
    expect(card).toContain('data-phone="+79031234567"');
    expect(card).toContain('src="/_emu/telephony.client.js"');
    const click = await fetch(`${portal.origin}/_emu/telephony/click`, { method: 'POST', headers: { 'content-type': 'application/json', cookie: 'EMU_USER=1' }, body: JSON.stringify({ phone: '+79031234567', entityType: 'CONTACT', entityId: 1 }) });
    expect(((await click.json()) as Json).started).toBe(true);
    const id = (await register({ PHONE_NUMBER: '79031234567', TYPE: 2, EXTERNAL_CALL_ID: 'x' })).body.result.CALL_ID;
    const cards = (await (await fetch(`${portal.origin}/_emu/telephony/cards`, { headers: { cookie: 'EMU_USER=1' } })).json()) as Json;
    expect(cards.cards.map((c: Json) => c.callId)).toContain(id);
    await call('telephony.externalCall.finish', { CALL_ID: id, USER_ID: 1, DURATION: 95 });
    await call('telephony.externalCall.attachRecord', { CALL_ID: id, FILENAME: 'r.mp3', FILE_CONTENT: MP3.toString('base64') });
    const after = await (await fetch(`${portal.origin}/crm/deal/details/1/?user=1`)).text();
    expect(after).toContain('data-testid="call-activity" data-completed="Y" data-duration="95"');
    expect(after).toContain('1:35');
    expect(after).toContain('data-testid="call-record"');
    const tel = await (await fetch(`${portal.origin}/telephony/?user=1`)).text();
    expect(tel).toContain('data-testid="call-stat"');
  });

  it('telephony calls take from the same leaky bucket as everything else', async () => {
    const { portal, call } = await setup();
    portal.setPlan({ drainPerSec: 0.001, burst: 2 });
    await call('crm.lead.get', { id: 1 });
    await call('telephony.externalLine.get');
    const third = await call('telephony.externalCall.searchCrmEntities', { PHONE_NUMBER: '79031234567' });
    expect(third.status).toBe(503);
    expect(third.body.error).toBe('QUERY_LIMIT_EXCEEDED');
  });
});

describe('a person clicks through (headless Chromium)', () => {
  it('clicks the phone on a contact card → ONEXTERNALCALLSTART; the app shows the card, it pops up; finish removes it', async () => {
    const { launchChromium } = await import('../support/browser');
    const { call, portal, receiver } = await setup();
    await call('event.bind', { event: 'ONEXTERNALCALLSTART', handler: `${receiver.url}/b24/events` });
    portal.telephony.settings.defaultOutgoingLine = { kind: 'app' };
    const browser = await launchChromium();
    cleanups.push(() => browser.close());
    const page = await browser.newPage();
    await page.goto(`${portal.origin}/crm/contact/details/1/?user=2`);
    await page.getByTestId('crm-phone').first().click();
    await expect.poll(() => receiver.hits.filter((h) => h.body.event === 'ONEXTERNALCALLSTART').length).toBe(1);
    const callId = receiver.hits.find((h) => h.body.event === 'ONEXTERNALCALLSTART')!.body.data.CALL_ID as string;
    expect(await page.locator('[data-testid="call-card"]').count()).toBe(0); // the portal's own register does not SHOW
    await call('telephony.externalCall.show', { CALL_ID: callId, USER_ID: 2 });
    const card = page.locator(`[data-testid="call-card"][data-call-id="${callId}"]`);
    await card.waitFor({ timeout: 5000 });
    expect(await card.getByTestId('call-card-phone').textContent()).toBe('+7 903 123-45-67');
    expect(await card.getByTestId('call-card-crm').getAttribute('href')).toBe('/crm/contact/details/1/');
    await call('telephony.externalCall.finish', { CALL_ID: callId, USER_ID: 2, DURATION: 12 });
    await card.waitFor({ state: 'detached', timeout: 5000 });
    await page.goto(`${portal.origin}/crm/contact/details/1/?user=2`);
    expect(await page.getByTestId('call-activity').first().getAttribute('data-duration')).toBe('12');
  });

  it('a visitor fills in the callback form → ONEXTERNALCALLBACKSTART', async () => {
    const { launchChromium } = await import('../support/browser');
    const { call, portal, receiver } = await setup();
    await call('event.bind', { event: 'ONEXTERNALCALLBACKSTART', handler: `${receiver.url}/b24/events` });
    const browser = await launchChromium();
    cleanups.push(() => browser.close());
    const page = await browser.newPage();
    await page.goto(`${portal.origin}/contact_center/?user=1`);
    await page.locator('[data-tile="callback"]').click();
    await page.getByTestId('callback-line').selectOption('app');
    await page.getByTestId('save-callback').click();
    await page.waitForURL(/\/contact_center\/callback\//);
    expect(portal.telephony.settings.callbackForm.line).toEqual({ kind: 'app' });
    await page.goto(`${portal.origin}/crm/forms/callback/`);
    await page.getByTestId('callback-name').fill('Ольга');
    await page.getByTestId('callback-phone').fill('+79161110000');
    await page.getByTestId('callback-submit').click();
    await page.getByTestId('callback-done').waitFor();
    await expect.poll(() => receiver.hits.some((h) => h.body.event === 'ONEXTERNALCALLBACKSTART' && h.body.data.PHONE_NUMBER === '+79161110000')).toBe(true);
  });
});
