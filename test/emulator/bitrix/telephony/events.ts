/**
 * Calls that start on the portal and go to the app (bitrix-tools/b24-rest-docs
 * api-reference/telephony/events/on-external-call-start.md, on-external-call-back-start.md;
 * voximplant/lib/rest/helper.php `startCall`, `startCallBack`; vi_outgoing.php `startCallBack`;
 * vi_crm_helper.php `OnCrmCallbackFormSubmitted`):
 * - a click on a phone number when the user's outgoing line is the app's: the portal registers the
 *   call itself (TYPE 1, no EXTERNAL_CALL_ID, CRM_CREATE from the line's CRM_AUTO_CREATE — 'Y' for
 *   the app's generic line, the card's item as CRM_ENTITY_TYPE/ID, DEAL included, no SHOW) and then
 *   sends ONEXTERNALCALLSTART with the CALL_ID; LINE_NUMBER is '' for the generic line;
 * - the contact-center callback form whose line is the app's: the form's lead, then
 *   ONEXTERNALCALLBACKSTART (nothing registered, no USER_ID).
 * Both go through the portal's shared event delivery (`emit`), like every other event.
 */
import type { EntityType } from '../crm/types';
import type { Params } from '../php';
import type { PortalCore } from '../types';
import { e164, registerCall } from './calls';
import { telephonyOf, type OutgoingLine } from './store';

export interface ClickResult {
  /** the app got ONEXTERNALCALLSTART */
  started: boolean;
  reason?: string;
  callId?: string;
  data?: Params;
}

function lineNumberOf(line: NonNullable<OutgoingLine>): string {
  return line.kind === 'app' ? '' : line.number;
}

/** A user clicks a phone number (on a CRM card: with its entity). */
export function clickToCall(portal: PortalCore, o: { userId: number; phone: string; entityType?: EntityType | string; entityId?: number; isMobile?: boolean }): ClickResult {
  const t = telephonyOf(portal);
  const line = t.outgoingLineOf(o.userId);
  const at = portal.shared.clock.now();
  if (!portal.install?.installed) return { started: false, reason: 'the app is not installed' };
  if (!line) {
    t.starts.push({ at, event: 'ONEXTERNALCALLSTART', data: {}, delivered: false, reason: 'the outgoing line is Bitrix24 telephony' });
    return { started: false, reason: 'the outgoing line is Bitrix24 telephony, not the app' };
  }
  const appId = t.appId();
  const external = line.kind === 'line' ? t.line(appId, line.number) : undefined;
  if (line.kind === 'line' && !external) return { started: false, reason: `the app has no line ${line.number} (Outgoing line is not found)` };
  const lineNumber = lineNumberOf(line);
  const entityType = o.entityType ? String(o.entityType).toUpperCase() : '';
  const entityId = o.entityId && o.entityId > 0 ? o.entityId : null;
  let reg: Params;
  try {
    reg = registerCall(portal, {
    userId: o.userId,
    phone: o.phone,
    lineNumber,
    externalCallId: null,
    type: 1,
    startDate: null,
    crmCreate: (external?.crmAutoCreate ?? 'Y') === 'Y',
    crmSource: '',
    crmEntityType: entityType !== '' && entityId !== null ? entityType : null,
    crmEntityId: entityType !== '' && entityId !== null ? entityId : null,
    show: false,
    callListId: 0,
    });
  } catch (e) {
    // Helper::startCall returns the failed registration: no event
    const reason = e instanceof Error ? e.message : String(e);
    t.starts.push({ at, event: 'ONEXTERNALCALLSTART', data: {}, delivered: false, reason });
    return { started: false, reason };
  }
  const ext = /[;,#]|доб\.?|ext\.?/i.exec(o.phone);
  const data: Params = {
    PHONE_NUMBER: o.phone,
    PHONE_NUMBER_INTERNATIONAL: e164(ext ? o.phone.slice(0, ext.index) : o.phone),
    EXTENSION: ext ? o.phone.slice(ext.index).replace(/\D+/g, '') : '',
    USER_ID: o.userId,
    CALL_LIST_ID: 0,
    LINE_NUMBER: lineNumber,
    IS_MOBILE: o.isMobile === true,
    CALL_ID: reg.CALL_ID,
    CRM_ENTITY_TYPE: reg.CRM_ENTITY_TYPE,
    // null vanishes in the form encoding (26.x); some portals sent 0 (docs/facts/telephony.md#gotcha-4)
    CRM_ENTITY_ID: reg.CRM_ENTITY_ID ?? (t.settings.clickEntityIdWhenNone === 'zero' ? 0 : null),
    CRM_CREATED_LEAD: reg.CRM_CREATED_LEAD,
    CRM_CREATED_ENTITIES: reg.CRM_CREATED_ENTITIES,
  };
  t.starts.push({ at, event: 'ONEXTERNALCALLSTART', data, delivered: true });
  portal.emit('ONEXTERNALCALLSTART', data, o.userId);
  return { started: true, callId: String(reg.CALL_ID), data };
}

/**
 * A visitor submits the callback form: the form creates its lead (SOURCE_ID CALLBACK), then the
 * callback starts on the form's line. Not the app's line → no event (Bitrix24 telephony calls).
 */
export function submitCallbackForm(portal: PortalCore, o: { name?: string; phone: string }): { leadId: number; started: boolean; data?: Params } {
  const t = telephonyOf(portal);
  const form = t.settings.callbackForm;
  const at = portal.shared.clock.now();
  const fields: Params = {
    TITLE: `Обратный звонок: ${o.name?.trim() || o.phone}`,
    NAME: o.name ?? '',
    PHONE: [{ VALUE: o.phone, VALUE_TYPE: 'WORK' }],
    SOURCE_ID: 'CALLBACK',
    ASSIGNED_BY_ID: form.responsibleId,
    OPENED: 'Y',
  };
  const lead = portal.crm.add('LEAD', fields, null, 0);
  if (!portal.install?.installed || !form.line) {
    t.starts.push({ at, event: 'ONEXTERNALCALLBACKSTART', data: {}, delivered: false, reason: 'the form line is not the app' });
    return { leadId: lead.id, started: false };
  }
  const data: Params = {
    PHONE_NUMBER: o.phone,
    TEXT: form.text,
    VOICE: form.voice,
    CRM_ENTITY_TYPE: 'LEAD',
    CRM_ENTITY_ID: lead.id,
    LINE_NUMBER: lineNumberOf(form.line),
  };
  t.starts.push({ at, event: 'ONEXTERNALCALLBACKSTART', data, delivered: true });
  portal.emit('ONEXTERNALCALLBACKSTART', data, form.responsibleId);
  return { leadId: lead.id, started: true, data };
}
