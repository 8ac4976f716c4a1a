import { createHash, randomBytes } from 'node:crypto';
import type { CallNotification } from '../../domain/telephony/events';
import type { TelephonyRepository } from './ports';

export interface IntakeDeps {
  telephony: TelephonyRepository;
  now(): number;
  /** the worker: a call's notification is due now */
  wake(): void;
}

/** A new notification URL secret: 32 random bytes, URL-safe. */
export function newHookToken(): string {
  return randomBytes(32).toString('base64url');
}

/** The secret of a portal's notification URL, made on first use. */
export async function hookTokenOf(repo: TelephonyRepository, memberId: string): Promise<string> {
  const token = await repo.hookToken(memberId);
  if (token) return token;
  const fresh = newHookToken();
  await repo.saveHookToken(memberId, fresh);
  return fresh;
}

/** The portal a notification URL's secret belongs to; null = refuse (nothing is recorded). */
export async function portalOfHook(repo: TelephonyRepository, token: string): Promise<string | null> {
  if (!/^[A-Za-z0-9_-]{32,64}$/.test(token)) return null;
  return repo.memberByHookToken(token);
}

/**
 * Records a verified notification before it is answered (durable: a crash after the answer loses
 * nothing) and wakes the worker. A notification delivered twice is one (same event, same values).
 */
export async function recordCallNotification(deps: IntakeDeps, memberId: string, n: CallNotification): Promise<{ fresh: boolean }> {
  const { receivedAt: _at, ...values } = n;
  const dedupeKey = createHash('sha256').update(JSON.stringify(values)).digest('hex');
  const fresh = await deps.telephony.record({ memberId, notification: n, dedupeKey }, deps.now());
  if (fresh && n.sessionId !== null) deps.wake();
  return { fresh };
}
