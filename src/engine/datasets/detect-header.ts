/**
 * Whether the first row of a CSV/TSV file is a header. With a mapping: when it names every mapped
 * column. Without: when none of its cells is a number. (When the second row holds no number either
 * the two rows cannot be told apart, and a header is the likelier case.)
 */
export function detectHeader(firstRow: readonly string[], columns: Readonly<Record<string, string>> | undefined): boolean {
  if (columns) return Object.values(columns).every((name) => firstRow.includes(name));
  return !firstRow.some(isNumber);
}

function isNumber(cell: string): boolean {
  return cell.trim() !== '' && Number.isFinite(Number(cell));
}
