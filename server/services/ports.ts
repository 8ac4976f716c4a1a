import type { Portal, PortalStatus, PortalTokens } from '../domain/portal';

export type { BitrixGateway, PortalRestClient } from '../bitrix/rest-client';
export type { OAuthClient } from '../bitrix/oauth';

/** What an accepted install writes (PortalRepository.saveInstall): the verified credentials and who installed. */
export type InstallWrite = Pick<Portal, 'memberId' | 'domain' | 'clientEndpoint' | 'serverEndpoint' | 'applicationToken' | 'scopes' | 'installedBy'> & { tokens: PortalTokens };

/** Persistence of portals. Implementations return plain objects; secrets decrypted. */
export interface PortalRepository {
  get(memberId: string): Portal | null;
  /** Insert or replace every field but createdAt. */
  save(portal: Portal): void;
  /**
   * Verified install credentials (install page, ONAPPINSTALL), in one statement: a new portal is
   * inserted `installing`; a known one takes the endpoints, scopes, installer and application token
   * given, its reason is cleared and it becomes `installing` (installed_at cleared) — unless
   * `sameInstall` (the caller read the same application token) and the row is `active` when
   * written: then it stays active with its installed_at (a markInstalled landing after the caller's
   * read is not undone). The pair given is written unless `sameInstall` and the row holds a pair of
   * a portal that can call REST which expires later (rotated since the credentials were verified:
   * kept). Answers the row as written; created_at of the first install.
   */
  saveInstall(p: InstallWrite, opts: { sameInstall: boolean }): Portal;
  /** Persist a rotated token pair (and the endpoints the OAuth server confirmed). */
  saveTokens(memberId: string, tokens: PortalTokens, endpoints?: { clientEndpoint: string; domain: string }): void;
  /** The portal moved to a new domain (a 302 of its REST API): the endpoint and domain only; the pair stays as stored. */
  saveEndpoint(memberId: string, endpoints: { clientEndpoint: string; domain: string }): void;
  setStatus(memberId: string, status: PortalStatus, reason: string | null): void;
  /**
   * The install plan completed: status active, reason cleared, installed_at kept or set to `at`;
   * one statement, so a pair rotated or an uninstall meanwhile is not overwritten. False when the
   * portal is gone or deleted (nothing changes).
   */
  markInstalled(memberId: string, at: string): boolean;
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

export type { UisEndpoints } from '../uis/endpoints';
import type { UisLink } from '../domain/uis-link';
import type { UisCallback } from '../uis/callback-schemas';

export interface UisLinkRepository {
  get(memberId: string): UisLink | null;
  getByHook(hookId: string): UisLink | null;
  save(link: UisLink): void;
  delete(memberId: string): void;
}

export type { UisManagement } from '../uis/management-client';

/** Durable record of verified UIS callbacks (the Open Lines bridge consumes it). */
export interface UisInbox {
  record(e: { memberId: string; path: string; body: unknown; dedupeKey: string }): boolean;
  count(memberId: string): number;
}

import type { Step } from './maybe-async';

/** Where verified UIS callbacks go, parsed with their schema (server/uis/callback-schemas.ts). */
export interface UisCallbackHandler {
  /**
   * Database work only, written once for both stores (maybe-async.ts): driven by `runSync` inside
   * the SQLite intake's transaction (callback-intake.ts), by `runAsync` inside a PostgreSQL one.
   */
  handle(link: UisLink, cb: UisCallback): Step<void>;
}

import type { AnalyticsSettings } from '../contracts/analytics';

export interface AnalyticsJob {
  id: number;
  memberId: string;
  entityType: 'lead' | 'deal';
  entityId: number;
  status: 'pending' | 'uploaded' | 'skipped' | 'failed';
  attempts: number;
  dueAt: number;
  createdAt: number;
  chatId: number | null;
  attribution: string | null;
  reason: string | null;
  /** After an upload with a fallback attribution: look again for a late session id then. */
  recheckAt: number | null;
  updatedAt: string;
}

export interface AnalyticsRepository {
  getSettings(memberId: string): { settings: AnalyticsSettings; hookId: string } | null;
  getByHook(hookId: string): { memberId: string; settings: AnalyticsSettings } | null;
  saveSettings(memberId: string, settings: AnalyticsSettings, hookId: string): void;
  /** Insert a pending job; false when that entity already has one (a repeat of the event). */
  enqueue(memberId: string, entityType: 'lead' | 'deal', entityId: number, dueAt: number): boolean;
  /** Pending jobs due now, plus uploaded ones due for a session re-check. */
  due(memberId: string, now: number, limit: number): AnalyticsJob[];
  update(id: number, patch: Partial<Pick<AnalyticsJob, 'status' | 'attempts' | 'dueAt' | 'chatId' | 'attribution' | 'reason' | 'recheckAt'>>): void;
  /** Portals with work due. */
  portalsWithDueJobs(now: number): string[];
  /** Soonest due time of any job, or null. */
  nextDueAt(): number | null;
  recent(memberId: string, limit: number): AnalyticsJob[];
  /** Portals with analytics switched on. */
  enabledPortals(): string[];
}
