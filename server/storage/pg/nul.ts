/**
 * PostgreSQL's text cannot hold U+0000, which SQLite keeps: free text a store writes (a reason, an
 * error message, a chat message, an author) has it replaced by U+FFFD instead of failing the
 * statement (the caller would get a 5xx for a character nobody can see). JSON columns need nothing:
 * JSON.stringify writes U+0000 as the escape \u0000.
 */
export const pgText = <T extends string | null | undefined>(s: T): T => (typeof s === 'string' && s.includes('\u0000') ? (s.replaceAll('\u0000', '\uFFFD') as T) : s);
