/**
 * A small SVG heat map: a grid of cells (rows × columns) shaded by value, each cell labelled with
 * its value, and a colour bar. Cells without a value stay grey with their own label (e.g. "r > n").
 */
import { escapeXml } from './svg-chart.js';

export interface HeatMap {
  readonly title: string;
  readonly rowLabel: string;
  readonly columnLabel: string;
  readonly rows: readonly number[];
  readonly columns: readonly number[];
  /** values[i][j]: row i, column j; a string for a cell with no value, shown as is. */
  readonly values: ReadonlyArray<ReadonlyArray<number | string>>;
  /** How a value is written in its cell and on the bar. */
  readonly format: (value: number) => string;
}

const CELL = { width: 92, height: 52 };
const MARGIN = { left: 90, top: 56 };
const BAR_WIDTH = 18;

/** White to blue, by t ∈ [0, 1]. */
function shade(t: number): string {
  const channel = (from: number, to: number) => Math.round(from + (to - from) * t);
  return `rgb(${channel(247, 8)},${channel(251, 81)},${channel(255, 156)})`;
}

export function renderHeatMap(map: HeatMap): string {
  const numbers = map.values.flat().filter((v): v is number => typeof v === 'number');
  if (numbers.length === 0) throw new Error(`heat map "${map.title}" has no values`);
  const [low, high] = [Math.min(...numbers), Math.max(...numbers)];
  const position = (value: number) => (high > low ? (value - low) / (high - low) : 0.5);
  const plotWidth = map.columns.length * CELL.width;
  const plotHeight = map.rows.length * CELL.height;
  const width = MARGIN.left + plotWidth + 110;
  const height = MARGIN.top + plotHeight + 50;
  const parts: string[] = [`<rect width="${width}" height="${height}" fill="white"/>`];
  parts.push(`<text x="${width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(map.title)}</text>`);
  map.columns.forEach((column, j) => parts.push(`<text x="${MARGIN.left + (j + 0.5) * CELL.width}" y="${MARGIN.top - 8}" text-anchor="middle">${column}</text>`));
  parts.push(`<text x="${MARGIN.left + plotWidth / 2}" y="${MARGIN.top + plotHeight + 30}" text-anchor="middle">${escapeXml(map.columnLabel)}</text>`);
  parts.push(`<text transform="translate(24 ${MARGIN.top + plotHeight / 2}) rotate(-90)" text-anchor="middle">${escapeXml(map.rowLabel)}</text>`);
  map.rows.forEach((row, i) => {
    const y = MARGIN.top + i * CELL.height;
    parts.push(`<text x="${MARGIN.left - 10}" y="${y + CELL.height / 2 + 4}" text-anchor="end">${row}</text>`);
    map.columns.forEach((_, j) => {
      const value = map.values[i]?.[j] ?? '';
      const x = MARGIN.left + j * CELL.width;
      const t = typeof value === 'number' ? position(value) : null;
      parts.push(`<rect x="${x}" y="${y}" width="${CELL.width}" height="${CELL.height}" fill="${t === null ? '#ddd' : shade(t)}" stroke="white"/>`);
      const text = typeof value === 'number' ? map.format(value) : value;
      parts.push(`<text x="${x + CELL.width / 2}" y="${y + CELL.height / 2 + 4}" text-anchor="middle" fill="${t !== null && t > 0.55 ? 'white' : '#222'}">${escapeXml(text)}</text>`);
    });
  });
  // The colour bar: high at the top.
  const barX = MARGIN.left + plotWidth + 24;
  const stops = [0, 0.25, 0.5, 0.75, 1].map((t) => `<stop offset="${t}" stop-color="${shade(1 - t)}"/>`).join('');
  parts.push(`<defs><linearGradient id="bar" x1="0" y1="0" x2="0" y2="1">${stops}</linearGradient></defs>`);
  parts.push(`<rect x="${barX}" y="${MARGIN.top}" width="${BAR_WIDTH}" height="${plotHeight}" fill="url(#bar)" stroke="#999"/>`);
  parts.push(`<text x="${barX + BAR_WIDTH + 6}" y="${MARGIN.top + 10}">${escapeXml(map.format(high))}</text>`);
  parts.push(`<text x="${barX + BAR_WIDTH + 6}" y="${MARGIN.top + plotHeight}">${escapeXml(map.format(low))}</text>`);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">\n${parts.join('\n')}\n</svg>\n`;
}
