import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/**
 * Encrypts secrets at rest (OAuth tokens, application_token) with AES-256-GCM.
 * The key is derived from APP_SECRET_KEY with HKDF; each value is bound to its portal
 * (member_id as associated data), so a ciphertext copied to another portal's row fails to open.
 */
export interface SecretBox {
  seal(plain: string, context: string): string;
  open(sealed: string, context: string): string;
}

/** Opened values kept in memory (most recently used), so hot paths (every UIS callback reads its link) do not decrypt again. */
const OPENED_MAX = 4096;

export function createSecretBox(appSecretKey: string): SecretBox {
  const key = Buffer.from(hkdfSync('sha256', appSecretKey, 'uis-omni', 'secrets-at-rest-v1', 32));
  // A sealed value (random IV, GCM tag) and its context always open to the same plain text.
  const opened = new Map<string, string>();
  return {
    seal(plain, context) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(Buffer.from(context));
      const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      return 'v1:' + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
    },
    open(sealed, context) {
      const memo = `${context}\u0000${sealed}`;
      const hit = opened.get(memo);
      if (hit !== undefined) {
        opened.delete(memo);
        opened.set(memo, hit);
        return hit;
      }
      const plain = openSealed(sealed, context);
      opened.set(memo, plain);
      if (opened.size > OPENED_MAX) opened.delete(opened.keys().next().value!);
      return plain;
    },
  };

  function openSealed(sealed: string, context: string): string {
    if (!sealed.startsWith('v1:')) throw new Error('unknown secret format');
    const raw = Buffer.from(sealed.slice(3), 'base64');
    const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
    decipher.setAAD(Buffer.from(context));
    decipher.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
  }
}
