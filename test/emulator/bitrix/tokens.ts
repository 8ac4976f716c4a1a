/**
 * OAuth tokens per (portal, user, app) — docs/facts/bitrix24.md#oauth: access token 1 h, refresh token
 * 180 days, every refresh rotates both and the old refresh token is dead (single use).
 * Expiry runs on the injected clock so tests and benches can move time.
 */
import type { Clock } from '../../../server/domain/clock';
import { randomHex } from './php';

const REFRESH_TTL_SEC = 180 * 24 * 3600;

export interface AccessRecord {
  token: string;
  memberId: string;
  userId: number;
  /** Absolute unix seconds. */
  expires: number;
  dead: boolean;
}

interface RefreshRecord {
  token: string;
  memberId: string;
  userId: number;
  expires: number;
  /** Used once or revoked. */
  dead: boolean;
}

export interface IssuedTokens {
  memberId: string;
  accessToken: string;
  refreshToken: string | null;
  expires: number;
  expiresIn: number;
  userId: number;
}

export type AccessCheck =
  | { ok: true; record: AccessRecord }
  | { ok: false; error: 'invalid_token' | 'expired_token' };

export class TokenStore {
  private readonly access = new Map<string, AccessRecord>();
  private readonly refresh = new Map<string, RefreshRecord>();

  constructor(
    private readonly clock: Clock,
    private readonly accessTtlSec: number,
  ) {}

  private nowSec(): number {
    return Math.floor(this.clock.now() / 1000);
  }

  /** Real tokens are 70 hex characters; apps must treat them as opaque. */
  issue(memberId: string, userId: number, withRefresh = true): IssuedTokens {
    const expires = this.nowSec() + this.accessTtlSec;
    const accessToken = randomHex(35);
    this.access.set(accessToken, { token: accessToken, memberId, userId, expires, dead: false });
    let refreshToken: string | null = null;
    if (withRefresh) {
      refreshToken = randomHex(35);
      this.refresh.set(refreshToken, {
        token: refreshToken,
        memberId,
        userId,
        expires: this.nowSec() + REFRESH_TTL_SEC,
        dead: false,
      });
    }
    return { memberId, accessToken, refreshToken, expires, expiresIn: this.accessTtlSec, userId };
  }

  /** A token of another portal is as unknown as a made-up one. */
  check(token: string, memberId: string): AccessCheck {
    const record = this.access.get(token);
    if (!record || record.dead || record.memberId !== memberId) return { ok: false, error: 'invalid_token' };
    if (record.expires <= this.nowSec()) return { ok: false, error: 'expired_token' };
    return { ok: true, record };
  }

  /** Any live access token regardless of portal (the OAuth server's own /rest/app.info). */
  lookup(token: string): AccessRecord | null {
    const record = this.access.get(token);
    return record && !record.dead && record.expires > this.nowSec() ? record : null;
  }

  /** Rotates: returns the new pair, or null for an unknown, used, revoked or expired refresh token. */
  rotate(refreshToken: string): IssuedTokens | null {
    const record = this.refresh.get(refreshToken);
    if (!record || record.dead || record.expires <= this.nowSec()) return null;
    record.dead = true;
    return this.issue(record.memberId, record.userId, true);
  }

  expireAccess(memberId: string): void {
    for (const r of this.access.values()) if (r.memberId === memberId) r.expires = 0;
  }

  revokeRefresh(memberId: string): void {
    for (const r of this.refresh.values()) if (r.memberId === memberId) r.dead = true;
  }

  revokeAll(memberId: string): void {
    for (const r of this.access.values()) if (r.memberId === memberId) r.dead = true;
    this.revokeRefresh(memberId);
  }
}
