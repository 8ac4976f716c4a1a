import type { Portal, PortalStatus, PortalTokens } from '../domain/portal';

export type { BitrixGateway, PortalRestClient } from '../bitrix/rest-client';
export type { OAuthClient } from '../bitrix/oauth';

/** Persistence of portals. Implementations return plain objects; secrets decrypted. */
export interface PortalRepository {
  get(memberId: string): Portal | null;
  /** Insert or replace every field but createdAt. */
  save(portal: Portal): void;
  /** Persist a rotated token pair (and the endpoints the OAuth server confirmed). */
  saveTokens(memberId: string, tokens: PortalTokens, endpoints?: { clientEndpoint: string; domain: string }): void;
  setStatus(memberId: string, status: PortalStatus, reason: string | null): void;
  /** ONAPPUNINSTALL: status deleted, OAuth tokens and application_token wiped. */
  markDeleted(memberId: string): void;
  /** ONAPPUNINSTALL with CLEAN=1: everything the app holds for the portal. */
  purge(memberId: string): void;
  countByStatus(): Record<string, number>;
}

export interface InboxEvent {
  memberId: string;
  event: string;
  /** The event's `data` block; `auth` is never stored. */
  data: unknown;
  ts: number | null;
  /** Same key twice = same event delivered twice (online + offline twin, or a replay). */
  dedupeKey: string;
}

/** Durable record of accepted Bitrix24 events, for the handlers later issues add. */
export interface EventInbox {
  /** false when an event with the same dedupe key was already recorded. */
  record(e: InboxEvent): boolean;
  count(memberId: string): number;
}
