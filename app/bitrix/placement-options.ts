/**
 * PLACEMENT_OPTIONS arrive as an object, or as `""` when a placement has none
 * (docs/facts/bitrix24-frame.md#init-data, b24jssdk#485; the form POST carries a JSON string).
 * Everything becomes a plain object.
 */
export function normalizePlacementOptions(value: unknown): Record<string, unknown> {
  if (typeof value === 'string') {
    if (value.trim() === '') return {};
    try {
      return normalizePlacementOptions(JSON.parse(value));
    } catch {
      return {};
    }
  }
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) return { ...value };
  return {};
}

/** A placement option as a trimmed string; `""`, missing and non-scalar values give null. */
export function optionString(options: Record<string, unknown>, key: string): string | null {
  const v = options[key];
  if (typeof v === 'number') return String(v);
  if (typeof v !== 'string' || v.trim() === '') return null;
  return v.trim();
}
