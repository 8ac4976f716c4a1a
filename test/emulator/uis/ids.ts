/**
 * Id and token generators. Magnitudes follow the docs' examples (adapter 322, account 286,
 * channel 3580 / chat channel 740805, chat 199304420, visitor 9012381597, message 623010892,
 * employee 367852, app_id 4735) so that code which assumes small ids breaks here as it would there.
 */
import { randomBytes } from 'node:crypto';

const BASES = {
  app: 4735,
  employee: 367852,
  site: 51230,
  source: 8,
  campaign: 150430,
  chatChannel: 740805,
  internalChannel: 28910,
  adapter: 322,
  connection: 286,
  adapterChannel: 3580,
  chat: 199304420,
  visitor: 9012381597,
  message: 623010892,
  resource: 880011,
  session: 255544855,
  uploaded: 310020001,
  offline: 41022001,
  template: 101,
  user: 91001,
} as const;

export type IdKind = keyof typeof BASES;

export class Ids {
  private readonly next = new Map<IdKind, number>();

  take(kind: IdKind): number {
    const n = this.next.get(kind) ?? BASES[kind];
    this.next.set(kind, n + 1);
    return n;
  }
}

/** Lowercase alphanumerics, like the Data API keys seen in the wild (40 chars). */
export function randomKey(length = 40): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = randomBytes(length);
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[bytes[i]! % alphabet.length];
  return out;
}

export function randomHex(bytes = 16): string {
  return randomBytes(bytes).toString('hex');
}
