/**
 * crm.activity.get / crm.activity.update, the legacy CCrmActivityRestProxy (crm/classes/general/
 * restservice.php innerGet, innerUpdate): an unknown or unreadable activity is "Activity is not
 * found."; updating needs the right to update its owner ("Access denied."); failures are the
 * legacy empty-code HTTP 400. Used for call activities too (e.g. COMPLETED=Y on an earlier
 * missed call — docs/facts/telephony.md#manual-mechanics «Обработано»). Fields: COMPLETED, SUBJECT, DESCRIPTION,
 * RESPONSIBLE_ID, DEADLINE; the others are ignored.
 */
import { crmError } from '../crm/store';
import type { CrmActivity } from '../crm/types';
import { isoDate, phpInt, phpString, type Params } from '../php';
import { actorOf, crmArrayParam, entityId } from './crm';
import { activityRow } from './crm-misc';
import type { MethodDef, RestCtx } from './registry';

function find(ctx: RestCtx, id: number): CrmActivity {
  const crm = ctx.portal.crm;
  const a = crm.activityRows.find((x) => x.id === id);
  const owners = a ? (a.call?.bindings ?? [{ ownerType: a.ownerType, ownerId: a.ownerId }]) : [];
  const readable = owners.some((o) => {
    const e = crm.get(o.ownerType, o.ownerId);
    return e && crm.canAccess(actorOf(ctx), e);
  });
  if (!a || !readable) throw crmError('Activity is not found.');
  return a;
}

function activityGet(p: Params, ctx: RestCtx): Params {
  return activityRow(find(ctx, entityId(p)));
}

function activityUpdate(p: Params, ctx: RestCtx): true {
  const id = entityId(p);
  const fields = crmArrayParam(p, 'fields');
  const crm = ctx.portal.crm;
  const a = crm.activityRows.find((x) => x.id === id);
  if (!a) throw crmError('Activity is not found.');
  const owner = crm.get(a.ownerType, a.ownerId);
  if (!owner || !crm.canAccess(actorOf(ctx), owner)) throw crmError('Access denied.');
  if (fields.COMPLETED !== undefined) a.completed = ['Y', '1', 'true'].includes(phpString(fields.COMPLETED)) || fields.COMPLETED === true ? 'Y' : 'N';
  if (fields.SUBJECT !== undefined) a.subject = phpString(fields.SUBJECT);
  if (fields.DESCRIPTION !== undefined) a.description = phpString(fields.DESCRIPTION);
  if (fields.RESPONSIBLE_ID !== undefined && phpInt(fields.RESPONSIBLE_ID) > 0) a.responsibleId = phpInt(fields.RESPONSIBLE_ID);
  if (fields.DEADLINE !== undefined) {
    const ms = Date.parse(phpString(fields.DEADLINE));
    if (!Number.isNaN(ms)) a.deadline = isoDate(ms);
  }
  ctx.portal.emit('ONCRMACTIVITYUPDATE', { FIELDS: { ID: a.id } }, ctx.user.id);
  return true;
}

export const crmActivityMethods: Record<string, MethodDef> = {
  'crm.activity.get': { scope: 'crm', handler: activityGet },
  'crm.activity.update': { scope: 'crm', handler: activityUpdate },
};
