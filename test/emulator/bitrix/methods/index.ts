/** Every REST method the emulated portal knows, by lower-case name (names are case-insensitive, docs/facts/bitrix24.md#rest-url). */
import { batchMethods } from './batch';
import { crmMethods } from './crm';
import { crmActivityMethods } from './crm-activity';
import { crmMiscMethods } from './crm-misc';
import { eventMethods } from './event';
import { imMethods } from './im';
import { imconnectorMethods } from './imconnector';
import { imconnectorMessageMethods } from './imconnector-messages';
import { imopenlinesMethods } from './imopenlines';
import { placementMethods } from './placement';
import type { MethodDef } from './registry';
import { systemMethods } from './system';
import { telephonyMethods } from './telephony';
import { userMethods } from './user';

export const METHODS: ReadonlyMap<string, MethodDef> = new Map(
  Object.entries({
    ...systemMethods,
    ...batchMethods,
    ...placementMethods,
    ...eventMethods,
    ...imconnectorMethods,
    ...imconnectorMessageMethods,
    ...imopenlinesMethods,
    ...imMethods,
    ...crmMethods,
    ...crmMiscMethods,
    ...crmActivityMethods,
    ...userMethods,
    ...telephonyMethods,
  }),
);
