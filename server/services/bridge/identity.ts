import { createHash } from 'node:crypto';
import { parseChatApiTime } from '../../domain/uis-time';

// the canonical ids (docs/facts/uis.md#rule-1–2) are domain rules: storage derives them too
export { externalChatId, externalUserId, uisChatIdOf } from '../../domain/bridge-ids';

/** Unix seconds from UIS `created_at`; now when missing or unparsable. */
export function unixSeconds(createdAt: unknown, nowMs: number): number {
  return Math.floor((parseChatApiTime(createdAt) ?? nowMs) / 1000);
}

/**
 * Operator text from ONIMCONNECTORMESSAGEADD: the NEED_SIGNATURE prefix dropped, BBCode → plain text.
 * Linear in the text: no pattern part may run past the next bracket (`[^\][]`), so a text of
 * unclosed `[url=` tags cannot make the matcher rescan the rest of it from every tag.
 */
export function plainOperatorText(bbcode: string): string {
  let t = bbcode.replace(/^\[b\][^[]*?:\[\/b\]\s?(\[br\])?/i, '');
  t = t.replace(/\[br\]/gi, '\n').replace(/\[\/?(b|i|u|s)\]/gi, '');
  t = t.replace(/\[url=([^\][]+)\]([^[]*)\[\/url\]/gi, '$2 ($1)').replace(/\[\/?url\]/gi, '');
  return t.trim();
}

/** The client's name as the open line shows it (letters, spaces, apostrophes and hyphens; 25 characters); null when nothing is left. */
export function visitorDisplayName(name: string | null | undefined): string | null {
  return (name ?? '').replace(/[^\p{L} '-]/gu, '').trim().slice(0, 25) || null;
}

export const textHash = (text: string): string => createHash('sha256').update(plainOperatorText(text)).digest('hex').slice(0, 32);

/**
 * What identifies the echo of a message we wrote into an open-line chat as an operator: its text
 * (signature prefix and BBCode dropped) and, for files, their names — so a file-only message never
 * swallows another operator's file-only message in the same chat.
 */
export function echoKey(text: string, fileNames: readonly string[] = []): string {
  return fileNames.length ? textHash(`${plainOperatorText(text)}\u0000${fileNames.join('\u0000')}`) : textHash(text);
}
