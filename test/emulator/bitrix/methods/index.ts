/** Every REST method the emulated portal knows, by lower-case name (names are case-insensitive, §3.1). */
import { batchMethods } from './batch';
import { eventMethods } from './event';
import { imconnectorMethods } from './imconnector';
import { placementMethods } from './placement';
import type { MethodDef } from './registry';
import { systemMethods } from './system';

export const METHODS: ReadonlyMap<string, MethodDef> = new Map(
  Object.entries({
    ...systemMethods,
    ...batchMethods,
    ...placementMethods,
    ...eventMethods,
    ...imconnectorMethods,
  }),
);
