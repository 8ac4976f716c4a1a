/**
 * Pure rules of the operator workspace feature (issue #5): how client identities are compared
 * with what UIS stores, which channel takes which identity, and the workspace deep link.
 */

/** Chat API §"Создание чата": the channel types on which an adapter may write first. */
export const OUTBOUND_TYPES = ['whatsapp', 'waba', 'telegram_private', 'sms', 'email'] as const;
export type OutboundType = (typeof OUTBOUND_TYPES)[number];

export function isOutboundType(t: string): t is OutboundType {
  return (OUTBOUND_TYPES as readonly string[]).includes(t);
}

export function normalEmail(raw: string): string | null {
  const e = raw.trim().toLowerCase();
  return /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(e) ? e : null;
}

/** Telegram usernames are 5–32 of [A-Za-z0-9_], written `@username` (Chat API §"Создание чата"). */
export function telegramUsername(raw: string): string | null {
  const u = raw.trim().replace(/^@/, '');
  return /^[A-Za-z0-9_]{5,32}$/.test(u) ? `@${u}` : null;
}

export type IdentityKind = 'phone' | 'email' | 'username';

/** Which identities a channel type accepts when an operator writes first (Chat API §"Создание чата"). */
export function identityKinds(type: OutboundType): IdentityKind[] {
  if (type === 'email') return ['email'];
  if (type === 'telegram_private') return ['phone', 'username'];
  return ['phone'];
}

/**
 * The workspace deep link. The public docs name the РМО but give no URL or parameters, so the
 * parameters are the ones our emulator of it takes (test/emulator/uis/README.md): `account`,
 * one client identity (`phone`, `email`, `username`), `chat_id`, `operator_id`.
 */
export function workspaceUrl(
  base: string,
  p: { accountId: string; chatId?: number | null; phone?: string | null; email?: string | null; username?: string | null; operatorId?: number | null },
): string {
  const u = new URL(base);
  u.searchParams.set('account', p.accountId);
  if (p.chatId) u.searchParams.set('chat_id', String(p.chatId));
  if (p.phone) u.searchParams.set('phone', p.phone);
  else if (p.email) u.searchParams.set('email', p.email);
  else if (p.username) u.searchParams.set('username', p.username);
  if (p.operatorId) u.searchParams.set('operator_id', String(p.operatorId));
  return u.toString();
}
