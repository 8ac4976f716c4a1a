/**
 * One place knows the UIS employees (issue #16): `server/services/uis-employees.ts` is the only
 * server module that asks the Data API for `get.employees`; it reads every page and gives each
 * caller the same typed record.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readUisEmployees, toUisEmployee } from '../../server/services/uis-employees';
import type { DataApiClient } from '../../server/uis/data-api';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const tsFiles = (dir: string): string[] => readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? tsFiles(join(dir, n)) : n.endsWith('.ts') ? [join(dir, n)] : []));

describe('UIS employees', () => {
  it('only server/services/uis-employees.ts calls get.employees', () => {
    const callers = tsFiles(join(ROOT, 'server'))
      .filter((f) => /['"]get\.employees['"]/.test(readFileSync(f, 'utf8')))
      .map((f) => relative(ROOT, f));
    expect(callers).toEqual(['server/services/uis-employees.ts']);
  });

  it('reads every page and maps the documented fields', async () => {
    const seen: Array<Record<string, unknown>> = [];
    const page = (offset: number) => Array.from({ length: offset === 0 ? 1000 : 2 }, (_, i) => ({ id: offset + i + 1, full_name: `E ${offset + i + 1}` }));
    const api: DataApiClient = {
      async call<T>(method: string, params: Record<string, unknown> = {}) {
        seen.push({ method, ...params });
        return { data: page(Number(params.offset)) as T, limits: null };
      },
    };
    const rows = await readUisEmployees(api);
    expect(rows).toHaveLength(1002);
    expect(seen.map((s) => [s.method, s.offset, s.limit])).toEqual([
      ['get.employees', 0, 1000],
      ['get.employees', 1000, 1000],
    ]);
    expect(seen[0]!.fields).toEqual(expect.arrayContaining(['id', 'full_name', 'email', 'operator', 'extension', 'phone_numbers', 'groups']));
  });

  it('one record for every caller: names, e-mail, chat permission, numbers, groups', () => {
    expect(
      toUisEmployee({
        id: '7',
        full_name: 'Иванова Анна',
        first_name: 'Анна',
        last_name: 'Иванова',
        email: 'anna@example.com',
        status: 'available',
        status_id: '3',
        extension: { extension_phone_number: '101' },
        operator: { operator_chat_enabled: false },
        phone_numbers: [
          { phone_number: '+7 916 000-00-01', status: 'active' },
          { phone_number: '79160000002', status: 'inactive' },
        ],
        groups: [{ group_id: 5, group_name: 'Отдел продаж' }],
      }),
    ).toEqual({
      id: 7,
      fullName: 'Иванова Анна',
      firstName: 'Анна',
      lastName: 'Иванова',
      email: 'anna@example.com',
      extension: '101',
      status: 'available',
      statusId: 3,
      chatEnabled: false,
      phones: ['79160000001'],
      groups: [{ id: 5, name: 'Отдел продаж' }],
    });
    expect(toUisEmployee({ id: 8, email: null, extension: { extension_phone_number: '102' } })).toMatchObject({ fullName: null, email: null, chatEnabled: true, phones: ['102'], groups: [] });
  });
});
