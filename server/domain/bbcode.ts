/**
 * Text from clients (and from UIS) as BBCode that shows exactly that text. Bitrix24 renders BBCode
 * in chats, timeline comments, to-do descriptions and COMMENTS fields, and has no escape for it
 * (im `Text::parse`, CTextParser): a `[` that opens a known tag is markup whoever wrote it — a
 * visitor's `[URL=…]`, `[USER=1]`, `[SEND=…]` would become a link, a mention, a button. So square
 * brackets become their fullwidth forms ［ ］ (U+FF3B, U+FF3D): they read the same and open no tag.
 */
export function escapeBbcode(text: string): string {
  return text.replace(/[[\]]/g, (c) => (c === '[' ? '［' : '］'));
}
