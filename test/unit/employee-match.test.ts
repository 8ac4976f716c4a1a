import { describe, expect, it } from 'vitest';
import { employeeUpdates, matchEmployees, uisStatusFor, type B24User, type UisEmployee } from '../../server/domain/employee-match';

const u = (id: number, firstName: string, lastName: string, email = ''): B24User => ({ id, firstName, lastName, email });
const e = (id: number, firstName: string, lastName: string, email: string | null = null): UisEmployee => ({ id, firstName, lastName, email });

describe('matchEmployees', () => {
  it('pairs by e-mail first (case and spaces ignored), then by first + last name', () => {
    const m = matchEmployees(
      [u(1, 'Анна', 'Админова', ' Admin@Portal.example '), u(2, 'Иван', 'Сотрудников', 'ivan@portal.example'), u(3, 'Пётр', 'Семёнов', 'p@x.example')],
      [e(10, 'Другое', 'Имя', 'admin@portal.example'), e(11, 'Петр', 'Семенов', 'other@x.example'), e(12, 'Марина', 'Иванова')],
    );
    expect(m.pairs.map((p) => [p.b24.id, p.uis.id, p.by])).toEqual([
      [1, 10, 'email'],
      [3, 11, 'name'],
    ]);
    expect(m.unmatched.map((x) => x.id)).toEqual([2]);
    expect(m.unmatchedUis.map((x) => x.id)).toEqual([12]);
  });

  it('never matches a user without a last name by name, but reports them; an e-mail still pairs them', () => {
    const m = matchEmployees([u(3, 'Мария', ''), u(4, 'Ольга', ' ', 'olga@x.example')], [e(20, 'Мария', ''), e(21, 'Ольга', 'Петрова', 'OLGA@x.example')]);
    expect(m.pairs.map((p) => [p.b24.id, p.uis.id, p.by])).toEqual([[4, 21, 'email']]);
    expect(m.noLastName.map((x) => x.id)).toEqual([3, 4]);
    expect(m.unmatched).toEqual([]);
  });

  it('leaves namesakes unmatched instead of guessing', () => {
    const m = matchEmployees([u(1, 'Иван', 'Иванов'), u(2, 'Иван', 'Иванов')], [e(30, 'Иван', 'Иванов')]);
    expect(m.pairs).toEqual([]);
    expect(m.ambiguous.map((x) => x.id)).toEqual([1, 2]);
    const two = matchEmployees([u(1, 'Иван', 'Иванов')], [e(30, 'Иван', 'Иванов'), e(31, 'иван', 'иванов')]);
    expect(two.pairs).toEqual([]);
    expect(two.ambiguous.map((x) => x.id)).toEqual([1]);
  });

  it('pairs by the internal number after the e-mail (UF_PHONE_INNER = UIS extension, telephony), before the name; a number two people share pairs nobody', () => {
    const withInner = (x: B24User, inner: string): B24User => ({ ...x, inner });
    const withExt = (x: UisEmployee, extension: string): UisEmployee => ({ ...x, extension });
    const m = matchEmployees(
      [withInner(u(1, 'Анна', 'Админова', 'admin@portal.example'), '101'), withInner(u(2, 'Иван', 'Сотрудников'), '102'), withInner(u(3, 'Ольга', 'Петрова'), '105'), withInner(u(4, 'Олег', 'Петров'), '105')],
      [withExt(e(10, 'Анна', 'Смирнова'), '101'), withExt(e(11, 'Марина', 'Иванова'), '102'), withExt(e(12, 'Пётр', 'Сидоров', 'admin@portal.example'), '110'), withExt(e(13, 'Олег', 'Петров'), '105')],
    );
    expect(m.pairs.map((p) => [p.b24.id, p.uis.id, p.by])).toEqual([
      [1, 12, 'email'],
      [2, 11, 'extension'],
      [4, 13, 'name'],
    ]);
  });

  it('uses each UIS employee once even when e-mails repeat', () => {
    const m = matchEmployees([u(1, 'A', 'B', 'same@x.example'), u(2, 'C', 'D', 'same@x.example')], [e(40, 'A', 'B', 'same@x.example')]);
    expect(m.pairs.map((p) => [p.b24.id, p.uis.id])).toEqual([[1, 40]]);
    expect(m.unmatched.map((x) => x.id)).toEqual([2]);
  });
});

describe('employeeUpdates', () => {
  it('writes Bitrix24 names, and the e-mail only where UIS has none', () => {
    expect(employeeUpdates({ b24: u(1, 'Анна', 'Смирнова', 'a@x.example'), uis: e(1, 'Анна', 'Иванова', 'old@x.example'), by: 'email' })).toEqual({ last_name: 'Смирнова' });
    expect(employeeUpdates({ b24: u(1, 'Анна', 'Смирнова', 'a@x.example'), uis: e(1, 'Анна', 'Смирнова', null), by: 'name' })).toEqual({ email: 'a@x.example' });
    expect(employeeUpdates({ b24: u(1, 'Мария', '', 'm@x.example'), uis: e(1, 'Маша', 'Кузнецова', 'm@x.example'), by: 'email' })).toEqual({});
  });
});

describe('uisStatusFor', () => {
  const now = Date.UTC(2026, 0, 1, 12);
  const base = { active: true, status: 'online', idleSince: null, absentUntil: null, lastSeen: now - 60_000 };
  it('maps the Bitrix24 state to a UIS status', () => {
    expect(uisStatusFor(base, now)).toBe('available');
    expect(uisStatusFor({ ...base, status: 'dnd' }, now)).toBe('do_not_disturb');
    expect(uisStatusFor({ ...base, status: 'away' }, now)).toBe('not_at_workplace');
    expect(uisStatusFor({ ...base, idleSince: now - 5 * 60_000 }, now)).toBe('not_at_workplace');
    expect(uisStatusFor({ ...base, lastSeen: now - 31 * 60_000 }, now)).toBe('not_at_workplace');
    expect(uisStatusFor({ ...base, absentUntil: now + 86_400_000 }, now)).toBe('not_at_work');
    expect(uisStatusFor({ ...base, absentUntil: now - 1 }, now)).toBe('available');
    expect(uisStatusFor({ ...base, active: false }, now)).toBe('not_at_work');
  });
});
