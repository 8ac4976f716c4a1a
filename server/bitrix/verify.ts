import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Constant-time comparison of an event's auth[application_token] with the stored one
 * (bitrix24-rest.md §1.5: it is the only check available for ONAPPUNINSTALL).
 * Both sides are hashed first so that the comparison does not leak the length either.
 */
export function verifyApplicationToken(stored: string | null | undefined, received: string | null | undefined): boolean {
  if (!stored || !received) return false;
  const a = createHash('sha256').update(stored).digest();
  const b = createHash('sha256').update(received).digest();
  return timingSafeEqual(a, b);
}
