/**
 * What the emulated PBX of a fresh account holds (README «Телефония (ВАТС)»): three virtual numbers,
 * three scenarios, two groups, and for the account's three employees extensions 101–103, phones,
 * SIP lines and call-recording settings. Ids are of realistic size (the docs' examples use
 * call_session_id 237859081, virtual number ids in the tens of thousands).
 */
import type { Employee } from '../types';
import type { EmployeeTelephony, Group, Scenario, SipLine, VirtualNumber } from './types';

/** Id generators for PBX objects, shared by every account of one emulator. */
export class PbxIds {
  private readonly next = new Map<string, number>();
  private static readonly BASES: Record<string, number> = {
    vn: 40211,
    scenario: 88120,
    operation: 510330,
    group: 6120,
    phone: 9100200,
    sip: 330410,
    session: 237859081,
    communication: 784617001,
    leg: 1418820001,
    record: 55120001,
    request: 910001,
  };

  take(kind: keyof typeof PbxIds.BASES | string): number {
    const n = this.next.get(kind) ?? PbxIds.BASES[kind] ?? 1;
    this.next.set(kind, n + 1);
    return n;
  }
}

export interface PbxSeed {
  virtualNumbers: VirtualNumber[];
  scenarios: Scenario[];
  groups: Group[];
  telephony: EmployeeTelephony[];
  sipLines: SipLine[];
}

/**
 * Seed: number N = 7495000 0 1 0 1 + 100 × (account index) so accounts never share numbers.
 * - «Основной» 7495…101 (va) → «Входящие — отдел продаж»: greeting → group «Отдел продаж» (Анна, Марина) → employee Олег → lost.
 * - «Реклама» 7495…102 (call_tracking, first campaign) → «Персональный менеджер»: interactive (no URL until a test sets one) → group.
 * - «Меню» 7495…103 (va) → «Меню»: IVR 1 → «Отдел продаж», 2 → «Поддержка» (Олег), else → «Отдел продаж».
 * - Анна: SIP 0211xx1 (caller id «Основной»), extension 101, records all calls.
 * - Марина: SIP 0211xx2 (caller id «Меню»), mobile (inactive), extension 102, records incoming only.
 * - Олег: no SIP line, mobile only, extension 103, no recording.
 */
export function seedPbx(ids: PbxIds, employees: Employee[], accountIndex: number, firstCampaignId: number | null, siteIds: number[]): PbxSeed {
  const base = 74950000101 + accountIndex * 100;
  const num = (i: number) => String(base + i);
  const [anna, marina, oleg] = employees;
  const groups: Group[] = [
    { id: ids.take('group'), name: 'Отдел продаж', employeeIds: [anna, marina].filter(Boolean).map((e) => e!.id) },
    { id: ids.take('group'), name: 'Поддержка', employeeIds: oleg ? [oleg.id] : [] },
  ];
  const [sales, support] = groups as [Group, Group];

  const op = () => ids.take('operation');
  const s1Greeting = op();
  const s1Group = op();
  const s1Reserve = op();
  const sc1: Scenario = {
    id: ids.take('scenario'),
    name: 'Входящие — отдел продаж',
    siteIds: siteIds.slice(0, 1),
    operations: [
      { id: s1Greeting, name: 'Приветствие', kind: 'greeting', next: s1Group },
      { id: s1Group, name: 'Отдел продаж', kind: 'group', groupId: sales.id, next: oleg ? s1Reserve : null },
      ...(oleg ? [{ id: s1Reserve, name: 'Резерв: Олег', kind: 'employee' as const, employeeId: oleg.id, next: null }] : []),
    ],
  };
  const s2Interactive = op();
  const s2Group = op();
  const sc2: Scenario = {
    id: ids.take('scenario'),
    name: 'Персональный менеджер',
    siteIds: [],
    operations: [
      {
        id: s2Interactive,
        name: 'Переадресация на персонального менеджера из CRM',
        kind: 'interactive',
        url: '',
        method: 'POST',
        params: ['cdr_id', 'start_time', 'input_result', 'numa', 'numb', 'call_session_id'],
        postEncoding: 'form',
        timeoutMs: 3000,
        returnedCodes: {},
        onNoAnswer: s2Group,
        next: s2Group,
      },
      { id: s2Group, name: 'Отдел продаж', kind: 'group', groupId: sales.id, next: null },
    ],
  };
  const s3Ivr = op();
  const s3Sales = op();
  const s3Support = op();
  const sc3: Scenario = {
    id: ids.take('scenario'),
    name: 'Меню',
    siteIds: [],
    operations: [
      { id: s3Ivr, name: 'Выбор отдела', kind: 'ivr', branches: { '1': s3Sales, '2': s3Support }, next: s3Sales },
      { id: s3Sales, name: 'Отдел продаж', kind: 'group', groupId: sales.id, next: null },
      { id: s3Support, name: 'Поддержка', kind: 'group', groupId: support.id, next: null },
    ],
  };

  const virtualNumbers: VirtualNumber[] = [
    { id: ids.take('vn'), number: num(0), name: 'Основной', type: 'va', status: 'active', scenarioId: sc1.id, campaignIds: [] },
    { id: ids.take('vn'), number: num(1), name: 'Реклама', type: 'call_tracking', status: 'active', scenarioId: sc2.id, campaignIds: firstCampaignId ? [firstCampaignId] : [] },
    { id: ids.take('vn'), number: num(2), name: 'Меню', type: 'va', status: 'active', scenarioId: sc3.id, campaignIds: [] },
  ];

  const sipNum = (i: number) => `0211${String(accountIndex).padStart(2, '0')}${i}`;
  const telephony: EmployeeTelephony[] = [];
  const sipLines: SipLine[] = [];
  // only the account's three seeded employees get phones; anyone added later (create.employees, a test)
  // gets the next free extension and no phones (Pbx.telephonyOf) — add them with telephonyOf(id).phones
  employees.slice(0, 3).forEach((e, i) => {
    const phones: EmployeeTelephony['phones'] = [];
    const hasSip = i < 2;
    if (hasSip) {
      const line: SipLine = {
        id: ids.take('sip'),
        phone_number: sipNum(i + 1),
        type: 'in_out',
        employee_id: e.id,
        virtual_phone_number: i === 0 ? num(0) : num(2),
        channels_count: 1,
        dial_time: 60,
        billing_state: 'active',
        physical_state: 'Зарегистрирован',
        status: 'active',
      };
      sipLines.push(line);
      phones.push({ phone_id: ids.take('phone'), phone_number: line.phone_number, channels_count: 1, dial_time: 60, status: 'active', protocol: 'sip' });
    }
    if (i >= 1) {
      phones.push({
        phone_id: ids.take('phone'),
        phone_number: `7926111000${i + 1}`,
        channels_count: 1,
        dial_time: 30,
        status: i === 1 ? 'inactive' : 'active',
        protocol: 'pstn',
      });
    }
    telephony.push({ employeeId: e.id, extension: String(101 + i), phones, callRecording: i === 0 ? 'all' : i === 1 ? 'in' : 'off' });
  });
  return { virtualNumbers, scenarios: [sc1, sc2, sc3], groups, telephony, sipLines };
}
