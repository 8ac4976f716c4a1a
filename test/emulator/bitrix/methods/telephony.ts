/**
 * Scope `telephony`: telephony.externalLine.* and telephony.externalCall.* for REST apps, plus
 * telephony.call.attachTranscription (bitrix-tools/b24-rest-docs api-reference/telephony/*;
 * behaviour from voximplant/classes/general/vi_rest.php and voximplant/lib/rest/helper.php).
 * The real methods refuse other auth types than app OAuth and incoming webhooks
 * (AuthTypeException, WRONG_AUTH_TYPE); the emulator only issues app OAuth tokens, so that branch
 * cannot be reached here. Logic lives in ../telephony/.
 */
import { createHmac } from 'node:crypto';
import { isRecord, phpEntries, phpInt, phpString, type Params } from '../php';
import {
  attachRecordContent,
  attachRecordUrl,
  fail,
  finishFromRest,
  hideCall,
  registerFromRest,
  searchCrmEntities,
  showCall,
  statisticOf,
} from '../telephony/calls';
import { telephonyOf } from '../telephony/store';
import type { PortalCore } from '../types';
import type { MethodDef, RestCtx } from './registry';

/** The signed `token` of an uploadUrl (CRestUtil::getSpecialUrl: scope|base64(query)|signature). */
export function uploadToken(portal: PortalCore, callId: string): string {
  const query = Buffer.from(`${new URLSearchParams({ callId }).toString()}&_=${Math.random().toString(36).slice(2)}`).toString('base64');
  const sig = createHmac('sha256', portal.memberId).update(`upload|${query}`).digest('hex');
  return `telephony|${query}|${sig}`;
}

/** Checks an uploadUrl token; returns the call id it was made for. */
export function readUploadToken(portal: PortalCore, token: string): string | null {
  const [scope, query, sig] = token.split('|');
  if (scope !== 'telephony' || !query || !sig) return null;
  const want = createHmac('sha256', portal.memberId).update(`upload|${query}`).digest('hex');
  if (want !== sig) return null;
  return new URLSearchParams(Buffer.from(query, 'base64').toString('utf8')).get('callId');
}

function lineAdd(p: Params, ctx: RestCtx): Params {
  const t = telephonyOf(ctx.portal);
  const appId = t.appId();
  const number = phpString(p.NUMBER).trim();
  if (number === '') throw fail('NUMBER should not be empty');
  if (t.line(appId, number)) throw fail('Line already exists');
  const id = t.nextLineId();
  t.lines.push({ id, appId, number, name: phpString(p.NAME), crmAutoCreate: (p.CRM_AUTO_CREATE ?? 'Y') === 'Y' ? 'Y' : 'N' });
  return { ID: id };
}

function lineGet(_p: Params, ctx: RestCtx): Params[] {
  const t = telephonyOf(ctx.portal);
  return t.lines.filter((l) => l.appId === t.appId()).map((l) => ({ NUMBER: l.number, NAME: l.name, CRM_AUTO_CREATE: l.crmAutoCreate }));
}

function lineUpdate(p: Params, ctx: RestCtx): Params {
  const t = telephonyOf(ctx.portal);
  const fields: { name?: string; crm?: 'Y' | 'N' } = {};
  if (p.NAME !== undefined && p.NAME !== null) fields.name = phpString(p.NAME);
  if (p.CRM_AUTO_CREATE !== undefined && p.CRM_AUTO_CREATE !== null) fields.crm = p.CRM_AUTO_CREATE === 'Y' ? 'Y' : 'N';
  if (Object.keys(fields).length === 0) throw fail('There are no fields to update');
  const number = phpString(p.NUMBER).trim();
  if (number === '') throw fail('NUMBER should not be empty');
  const line = t.line(t.appId(), number);
  if (!line) throw fail(`Could not find line with number ${number}`);
  if (fields.name !== undefined) line.name = fields.name;
  if (fields.crm !== undefined) line.crmAutoCreate = fields.crm;
  return { ID: String(line.id) };
}

function lineDelete(p: Params, ctx: RestCtx): unknown[] {
  const t = telephonyOf(ctx.portal);
  const number = phpString(p.NUMBER).trim();
  if (number === '') throw fail('NUMBER should not be empty');
  const line = t.line(t.appId(), number);
  if (!line) throw fail(`Could not find line with number ${number}`);
  t.lines.splice(t.lines.indexOf(line), 1);
  return [];
}

async function attachRecord(p: Params, ctx: RestCtx): Promise<Params> {
  // vi_rest.php: isset(RECORD_URL) → by URL; else isset(FILENAME) → content or uploadUrl
  if (p.RECORD_URL !== undefined && p.RECORD_URL !== null) {
    return attachRecordUrl(ctx.portal, p.CALL_ID, phpString(p.RECORD_URL), phpString(p.FILENAME));
  }
  if (p.FILENAME !== undefined && p.FILENAME !== null) {
    return attachRecordContent(ctx.portal, p.CALL_ID, phpString(p.FILENAME), p.FILE_CONTENT, () => {
      const token = ctx.portal.shared.tokens.issue(ctx.portal.memberId, ctx.user.id, false).accessToken;
      return `${ctx.portal.clientEndpoint}upload.json?${new URLSearchParams({ auth: token, token: uploadToken(ctx.portal, phpString(p.CALL_ID)) }).toString()}`;
    });
  }
  throw fail('Required parameters are not set. Request should contain or URL or FILENAME parameter');
}

function searchEntities(p: Params, ctx: RestCtx): Params[] {
  const phone = phpString(p.PHONE_NUMBER);
  if (phone === '') throw fail('PHONE_NUMBER is empty');
  return searchCrmEntities(ctx.portal, phone);
}

/** vi_rest.php attachTranscription */
function attachTranscription(p: Params, ctx: RestCtx): Params {
  if (p.CALL_ID === undefined || p.CALL_ID === null) throw fail('CALL_ID should be set');
  if (!Array.isArray(p.MESSAGES) && !isRecord(p.MESSAGES)) throw fail('MESSAGES should be an array');
  const messages = phpEntries(p.MESSAGES);
  for (const [k, m] of messages) {
    const f = isRecord(m) ? m : {};
    if (f.SIDE !== 'Client' && f.SIDE !== 'User') throw fail(`MESSAGES[${k}][SIDE] should be either Client or User`);
    if (phpInt(f.START_TIME) < 0) throw fail(`MESSAGES[${k}][START_TIME] should be greater or equal to zero`);
    if (phpInt(f.STOP_TIME) <= 0) throw fail(`MESSAGES[${k}][STOP_TIME] should be greater than zero`);
    if (phpString(f.MESSAGE) === '') throw fail(`MESSAGES[${k}][MESSAGE] is empty`);
  }
  const t = telephonyOf(ctx.portal);
  const callId = phpString(p.CALL_ID);
  let row;
  try {
    row = statisticOf(t, callId);
  } catch {
    throw fail(`Call ${callId} is not found. Is it finished?`);
  }
  const id = t.nextTranscriptId();
  t.transcripts.push({ id, callId, messages: messages.map(([, m]) => (isRecord(m) ? { ...m } : {})) });
  row.transcriptId = id;
  return { TRANSCRIPT_ID: id };
}

export const telephonyMethods: Record<string, MethodDef> = {
  'telephony.externalline.add': { scope: 'telephony', handler: lineAdd },
  'telephony.externalline.get': { scope: 'telephony', handler: lineGet },
  'telephony.externalline.update': { scope: 'telephony', handler: lineUpdate },
  'telephony.externalline.delete': { scope: 'telephony', handler: lineDelete },
  'telephony.externalcall.register': { scope: 'telephony', handler: (p, ctx) => registerFromRest(ctx.portal, p) },
  'telephony.externalcall.finish': { scope: 'telephony', handler: (p, ctx) => finishFromRest(ctx.portal, p) },
  'telephony.externalcall.show': { scope: 'telephony', handler: (p, ctx) => showCall(ctx.portal, phpString(p.CALL_ID), p.USER_ID) },
  'telephony.externalcall.hide': { scope: 'telephony', handler: (p, ctx) => hideCall(ctx.portal, phpString(p.CALL_ID), p.USER_ID) },
  'telephony.externalcall.attachrecord': { scope: 'telephony', handler: attachRecord },
  'telephony.externalcall.searchcrmentities': { scope: 'telephony', handler: searchEntities },
  'telephony.call.attachtranscription': { scope: 'telephony', handler: attachTranscription },
};

