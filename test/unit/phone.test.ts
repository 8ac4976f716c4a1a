/**
 * The one phone rule (server/domain/phone.ts): every form a Russian client's number is written in
 * gives the same E.164, foreign numbers keep their country code, extensions are dropped, garbage
 * is not a phone.
 */
import { describe, expect, it } from 'vitest';
import { e164, phoneDigits } from '../../server/domain/phone';

const TABLE: Array<[input: string | null | undefined, expected: string | null, why: string]> = [
  // Russian numbers, every way they are written
  ['79161234567', '+79161234567', 'UIS writes digits only'],
  ['+79161234567', '+79161234567', 'already E.164'],
  ['+7 (916) 123-45-67', '+79161234567', 'brackets, spaces, dashes'],
  ['+7 916 123 45 67', '+79161234567', 'spaces'],
  ['+7-916-123-45-67', '+79161234567', 'dashes'],
  ['+7.916.123.45.67', '+79161234567', 'dots'],
  [' +7\u00a0916\u00a0123\u201145\u201167 ', '+79161234567', 'no-break spaces and hyphens, padding'],
  ['89161234567', '+79161234567', '8 is the Russian trunk prefix'],
  ['8 (916) 123-45-67', '+79161234567', 'trunk prefix with formatting'],
  ['8 (495) 926-86-86', '+74959268686', 'a Moscow landline'],
  ['8-800-555-35-35', '+78005553535', 'toll-free'],
  ['9161234567', '+79161234567', 'ten digits: a national number without the code'],
  ['(916) 123-45-67', '+79161234567', 'national number with brackets'],
  ['4959268686', '+74959268686', 'national landline'],
  ['+8 916 123-45-67', '+79161234567', '+8 9… is a mistyped +7 (89 is not a country code)'],
  ['tel:+7-916-123-45-67', '+79161234567', 'RFC 3966 tel URI'],
  ['87012345678', '+77012345678', 'Kazakhstan with the trunk prefix'],
  // extensions are dropped, never glued to the number
  ['+7 495 926-86-86 доб. 123', '+74959268686', 'доб.'],
  ['+7 495 926-86-86, доб 12', '+74959268686', ', доб'],
  ['8 495 926 86 86 добавочный 5', '+74959268686', 'добавочный'],
  ['+7 (495) 926-86-86 ext. 42', '+74959268686', 'ext.'],
  ['+74959268686x42', '+74959268686', 'x'],
  ['+74959268686#42', '+74959268686', '#'],
  ['+74959268686,,42', '+74959268686', 'dial pauses'],
  ['tel:+7-495-926-86-86;ext=42', '+74959268686', 'RFC 3966 extension'],
  ['84959268686 вн. 7', '+74959268686', 'вн.'],
  // foreign numbers keep their country code
  ['+44 20 7946 0958', '+442079460958', 'UK with a plus'],
  ['442079460958', '+442079460958', 'UK as digits (UIS)'],
  ['0044 20 7946 0958', '+442079460958', '00 international prefix'],
  ['8 10 44 20 7946 0958', '+442079460958', 'Russian 8~10 international prefix'],
  ['+380 50 123 4567', '+380501234567', 'Ukraine'],
  ['380501234567', '+380501234567', 'Ukraine as digits'],
  ['+1 (202) 555-0123', '+12025550123', 'USA'],
  ['12025550123', '+12025550123', 'USA as digits'],
  ['81312345678', '+81312345678', 'Japan as digits: 8 then 1 is not a trunk prefix'],
  ['+49 151 12345678', '+4915112345678', 'Germany'],
  ['+372 5123 4567', '+37251234567', 'Estonia'],
  // not phones
  [null, null, 'null'],
  [undefined, null, 'undefined'],
  ['', null, 'empty'],
  ['   ', null, 'blank'],
  ['abc', null, 'letters'],
  ['+', null, 'a plus alone'],
  ['123', null, 'too short'],
  ['1234567', null, 'a local number without its area code'],
  ['123-45-67', null, 'a Moscow local number'],
  ['2025550123', null, 'ten digits that are not a +7 national number'],
  ['0123456789', null, 'leading zero'],
  ['+0123456789', null, 'no country code starts with 0'],
  ['+7916123456', null, 'a +7 number one digit short'],
  ['+791612345678', null, 'a +7 number one digit long'],
  ['79161234567123', null, 'an extension glued to a +7 number'],
  ['+1234567890123456', null, 'longer than E.164 allows'],
  ['++79161234567', null, 'two pluses'],
  ['+7 916 123 45 67 +7 916 765 43 21', null, 'two numbers'],
  ['89161234567, 89167654321', null, 'a list of numbers'],
  ['8916123456a', null, 'trailing letter'],
  ['ivan@example.com', null, 'an e-mail'],
  ['@ivan_petrov', null, 'a username'],
  ['+7 916 123 45 67 (мобильный)', null, 'a comment is not an extension'],
  [`+7 916 ${'1'.repeat(100)}`, null, 'too long to be a phone'],
];

describe('e164: one phone rule for every place a phone is compared or sent', () => {
  it.each(TABLE)('%j → %j (%s)', (input, expected) => {
    expect(e164(input)).toBe(expected);
    expect(phoneDigits(input)).toBe(expected ? expected.slice(1) : null);
  });

  it('is idempotent: a normalised number stays the same', () => {
    for (const [, expected] of TABLE) if (expected) expect(e164(expected)).toBe(expected);
  });
});
