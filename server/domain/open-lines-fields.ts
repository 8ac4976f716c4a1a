import type { FieldMappingOf } from '../contracts/crm-rules';
import { escapeBbcode } from './bbcode';

/** Fields Bitrix24 renders as BBCode («Комментарий. Поддерживает bb-коды»); the others are plain text. */
const BBCODE_FIELDS = new Set(['COMMENTS']);

const empty = (v: unknown) => v === null || v === undefined || (typeof v === 'string' && v.trim() === '') || (Array.isArray(v) && v.length === 0);

/**
 * «Доп. поля» of the «Открытые линии» tab for one entity that Open Lines linked to a UIS chat
 * (seed 002 «Настройка "Доп поля" в "Открытых линиях"»), given what the entity holds now:
 * - «Обновлять всегда» off: the field is filled only where it is empty — on the lead or deal Open
 *   Lines just created that is every mapped field; a contact found again keeps what it has;
 * - «Обновлять всегда» on: the field takes the chat's value whenever it differs;
 * - «ID первой коммуникации» (`communication_id`, `chat:{chat_id}`) «не меняется в уже
 *   существующей сущности»: written only where empty, so a contact keeps the first one.
 * A value UIS did not give never clears a field. Returns field code → value to write.
 */
export function openLineFieldWrites<V extends string>(
  mappings: ReadonlyArray<FieldMappingOf<V>>,
  vars: Readonly<Partial<Record<V, string | null>>>,
  entity: FieldMappingOf['entity'],
  current: Readonly<Record<string, unknown>>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of mappings) {
    if (m.entity !== entity) continue;
    const raw = vars[m.uisField];
    if (raw === null || raw === undefined || raw.trim() === '') continue;
    const value = BBCODE_FIELDS.has(m.b24Field) ? escapeBbcode(raw) : raw;
    const now = current[m.b24Field];
    const overwrite = m.alwaysUpdate && m.uisField !== 'communication_id';
    if (overwrite ? String(now ?? '') !== value : empty(now)) out[m.b24Field] = value;
  }
  return out;
}
