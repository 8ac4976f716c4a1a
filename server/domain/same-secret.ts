import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Constant-time comparison of a received secret with the expected one (application_token,
 * UIS webhook bearer…). Both sides are hashed first so the comparison leaks neither content nor
 * length; an empty or missing value never matches.
 */
export function sameSecret(expected: string | null | undefined, received: string | null | undefined): boolean {
  if (!expected || !received) return false;
  return timingSafeEqual(createHash('sha256').update(expected).digest(), createHash('sha256').update(received).digest());
}
