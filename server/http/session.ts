import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

/**
 * Our own short-lived bearer token for /api/*, issued to a page after the server verified the
 * portal's token for it (docs/facts/bitrix24-frame.md#frame-pitfalls pitfall 3). Bound to one portal and one user.
 * Sent as an Authorization header, not a cookie (third-party iframe, pitfall 18).
 */
const claimsSchema = z.object({ m: z.string(), u: z.number(), a: z.boolean(), exp: z.number() });
export type SessionClaims = z.infer<typeof claimsSchema>;
const B64URL = /^[A-Za-z0-9_-]{1,4096}$/;

export interface SessionSigner {
  issue(c: { memberId: string; userId: number; isAdmin: boolean }): string;
  verify(token: string): { memberId: string; userId: number; isAdmin: boolean } | null;
}

export function createSessionSigner(secret: string, now: () => number, ttlMs = 2 * 3600_000): SessionSigner {
  const key = Buffer.from(hkdfSync('sha256', secret, 'uis-omni', 'page-session-v1', 32));
  const mac = (payload: string) => createHmac('sha256', key).update(payload).digest('base64url');
  return {
    issue({ memberId, userId, isAdmin }) {
      const payload = Buffer.from(JSON.stringify({ m: memberId, u: userId, a: isAdmin, exp: now() + ttlMs })).toString('base64url');
      return `${payload}.${mac(payload)}`;
    },
    verify(token) {
      // exactly `<payload>.<mac>`, both base64url: trailing segments or other characters are not ours
      const parts = token.split('.');
      if (parts.length !== 2) return null;
      const [payload, sig] = parts as [string, string];
      if (!B64URL.test(payload) || !B64URL.test(sig)) return null;
      const expected = Buffer.from(mac(payload));
      const given = Buffer.from(sig);
      if (expected.length !== given.length || !timingSafeEqual(expected, given)) return null;
      let claims: SessionClaims;
      try {
        claims = claimsSchema.parse(JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')));
      } catch {
        return null;
      }
      if (claims.exp <= now()) return null;
      return { memberId: claims.m, userId: claims.u, isAdmin: claims.a };
    },
  };
}
