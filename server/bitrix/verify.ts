import { sameSecret } from '../domain/same-secret';

/**
 * An event's auth[application_token] against the stored one, in constant time
 * (docs/facts/bitrix24.md#application-token: it is the only check available for ONAPPUNINSTALL).
 */
export function verifyApplicationToken(stored: string | null | undefined, received: string | null | undefined): boolean {
  return sameSecret(stored, received);
}
