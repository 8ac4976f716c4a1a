import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * The OAuth `state` of «Подключить учетную запись»: which portal asked, the authorization's name and
 * the amoCRM origin, signed with the app's secret and valid 20 minutes (the life of an amoCRM
 * code), so the callback cannot be forged for another portal or replayed later.
 */
export interface AmoState {
  memberId: string;
  name: string;
  origin: string;
}

export function signState(secret: string, s: AmoState, now: number): string {
  const body = Buffer.from(JSON.stringify({ m: s.memberId, n: s.name, o: s.origin, e: now + 20 * 60_000, r: randomBytes(8).toString('hex') })).toString('base64url');
  const mac = createHmac('sha256', `amocrm-state:${secret}`).update(body).digest('base64url');
  return `${body}.${mac}`;
}

export function verifyState(secret: string, state: string, now: number): AmoState | null {
  const [body, mac, extra] = state.split('.');
  if (!body || !mac || extra !== undefined || state.length > 2000) return null;
  const want = createHmac('sha256', `amocrm-state:${secret}`).update(body).digest();
  const got = Buffer.from(mac, 'base64url');
  if (got.length !== want.length || !timingSafeEqual(got, want)) return null;
  try {
    const v = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as { m?: unknown; n?: unknown; o?: unknown; e?: unknown };
    if (typeof v.m !== 'string' || typeof v.n !== 'string' || typeof v.o !== 'string' || typeof v.e !== 'number' || v.e < now) return null;
    return { memberId: v.m, name: v.n, origin: v.o };
  } catch {
    return null;
  }
}
