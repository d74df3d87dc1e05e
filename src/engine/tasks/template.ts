const FIELD = /\{(\w+)\}/g;

/** The field names a template refers to, in order of first use. */
export function templateFields(template: string): string[] {
  return [...new Set([...template.matchAll(FIELD)].map((m) => m[1]!))];
}

/** The template with each `{field}` replaced; returns the first missing field name instead if any. */
export function fillTemplate(template: string, fields: Readonly<Record<string, string>>): { text: string } | { missing: string } {
  const missing = templateFields(template).find((name) => fields[name] === undefined);
  if (missing) return { missing };
  return { text: template.replace(FIELD, (_, name: string) => fields[name]!) };
}

/** The template's own text (its placeholders taken out) and each placeholder's field, repeats included. */
export function templateParts(template: string): { text: string; fields: string[] } {
  return { text: template.replace(FIELD, ''), fields: [...template.matchAll(FIELD)].map((m) => m[1]!) };
}
