import type { FieldMappingOf } from '../../contracts/crm-rules';
import { escapeBbcode } from '../bbcode';

/** Fields Bitrix24 renders as BBCode («Комментарий. Поддерживает bb-коды»); the others are plain text. */
const BBCODE_FIELDS = new Set(['COMMENTS']);

/**
 * Field-mapping values for one entity type, for any communication's variables. On creation every
 * mapping applies; on an existing entity only «Обновлять всегда» ones (seed 002: off →
 * «заполняться … только при создании новой сущности», on → «обновляться … всегда, при получении
 * новых данных»). Empty values never overwrite. «ID первой коммуникации» (`communication_id`) «Не
 * меняется в уже существующей сущности».
 */
export function mappedFields<V extends string>(
  mappings: ReadonlyArray<FieldMappingOf<V>>,
  vars: Readonly<Record<V, string | null>>,
  entity: FieldMappingOf['entity'],
  mode: 'create' | 'update',
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of mappings) {
    if (m.entity !== entity) continue;
    if (mode === 'update' && (!m.alwaysUpdate || m.uisField === 'communication_id')) continue;
    const v = vars[m.uisField];
    if (v !== null && v.trim() !== '') out[m.b24Field] = BBCODE_FIELDS.has(m.b24Field) ? escapeBbcode(v) : v;
  }
  return out;
}
