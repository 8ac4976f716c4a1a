/** A communication's template variables by name (chats: UIS_VARIABLES, calls: CALL_VARIABLES). */
export type TemplateVars = Readonly<Partial<Record<string, string | null>>>;

/**
 * Fills `{{variable}}` placeholders (the seed's template syntax, e.g. `{{contact_phone_number}}`).
 * A variable present in `vars` without a value renders empty and the spacing is tidied; an unknown
 * name is left as written so a typo stays visible in the preview. Bitrix24 titles are capped at 255.
 */
export function renderTemplate(template: string, vars: TemplateVars): string {
  const out = template.replace(/\{\{\s*([^}\s]+)\s*\}\}/g, (whole, name: string) =>
    Object.hasOwn(vars, name) ? (vars[name] ?? '') : whole,
  );
  return out
    .replace(/(\(|«)\s*(\)|»)/g, '')
    .replace(/\s{2,}/g, ' ')
    .replace(/\s+([,.:;)])/g, '$1')
    .replace(/\s*[—–-]\s*$/, '')
    .trim()
    .slice(0, 255);
}
