import type { CallFacts } from './call-types';
import type { RequestFacts } from './types';

/**
 * Any communication the engine decides on; `kind` tells them apart. Its own module: types.ts (the
 * operations call-types.ts uses) and call-types.ts would otherwise import each other.
 */
export type Communication = RequestFacts | CallFacts;
export type CommunicationKind = Communication['kind'];
