/**
 * The one phone rule (issue #11 item 15). Every place that compares, stores or sends a client's
 * phone — the bridge's `user.phone`, the workspace lookup and new-chat form, the CRM rules' search
 * and single-flight keys, analytics uploads — goes through `e164`, so one client has one identity.
 *
 * Inputs are what people and systems write: UIS sends digits (`"74959268686"`, Chat API
 * §"Примеры"), Bitrix24 keeps what was typed (`+7 (916) 123-45-67`, `8 916 123 45 67`), cards add
 * extensions (`доб. 12`). The rule, for a number with no `+`:
 * - `00…` and Russia's `8 10 …` are international prefixes;
 * - 11 digits starting with 8 and then a +7 area (3, 4, 6, 7, 8, 9) are a Russian trunk prefix
 *   (`8 916…` → +7 916…); other 8-numbers (Japan 81…, Korea 82…) stay as they are;
 * - 10 digits starting with one of those areas are a +7 national number (`916 123-45-67`);
 * - fewer than 10 digits cannot be told apart from a local number: not a phone;
 * - otherwise the digits already carry a country code (UIS writes `380501234567`).
 * With a `+` the digits are the country code and number, except `+8 9…` (11 digits; +89 is not
 * assigned), a common way of writing a Russian mobile. +7 numbers always have 11 digits; E.164
 * allows 8–15 and no leading 0. An extension (`доб.`, `ext`, `x`, `#`, `,`, `;ext=`) is dropped;
 * any other trailing text makes the whole value not a phone. Linear in the input, which is capped.
 */

/** Areas after +7: Russia 3xx, 4xx, 8xx, 9xx; Kazakhstan 6xx, 7xx. */
const PLUS7_AREA = new Set(['3', '4', '6', '7', '8', '9']);
const SEPARATORS = new Set([' ', '\u00a0', '\u202f', '\t', '-', '\u2010', '\u2011', '\u2012', '\u2013', '\u2014', '\u2212', '.', '(', ')', '/']);
const EXTENSION = /^(?:[,;#]{1,3}(?:ext=)?|(?:[,;]\s*)?(?:доб(?:авочный)?|вн(?:утр(?:енний)?)?|ext(?:ension)?|x)\.?:?)\s*\d{1,8}$/iu;
const MAX_INPUT = 64;

/** E.164 with the plus (`+79161234567`), or null when the value is not a phone. */
export function e164(raw: string | null | undefined): string | null {
  if (typeof raw !== 'string') return null;
  let s = raw.trim();
  if (!s || s.length > MAX_INPUT) return null;
  if (/^tel:/i.test(s)) s = s.slice(4);
  let plus = s.startsWith('+');
  let digits = '';
  let i = plus ? 1 : 0;
  for (; i < s.length; i++) {
    const c = s[i]!;
    if (c >= '0' && c <= '9') digits += c;
    else if (!SEPARATORS.has(c)) break;
  }
  const rest = s.slice(i).trim();
  if (rest && !EXTENSION.test(rest)) return null;

  if (!plus && digits.startsWith('00')) [digits, plus] = [digits.slice(2), true];
  else if (!plus && digits.startsWith('810') && digits.length > 11) [digits, plus] = [digits.slice(3), true];
  if (!plus) {
    if (digits.length === 11 && digits[0] === '8' && PLUS7_AREA.has(digits[1]!)) digits = `7${digits.slice(1)}`;
    else if (digits.length === 10 && PLUS7_AREA.has(digits[0]!)) digits = `7${digits}`;
    else if (digits.length < 11) return null;
  } else if (digits.length === 11 && digits.startsWith('89')) {
    digits = `7${digits.slice(1)}`;
  }
  if (digits.startsWith('7') && digits.length !== 11) return null;
  return /^[1-9]\d{7,14}$/.test(digits) ? `+${digits}` : null;
}

/** The same number as UIS writes it: digits only (Data API filters, the workspace link). */
export function phoneDigits(raw: string | null | undefined): string | null {
  return e164(raw)?.slice(1) ?? null;
}
