/**
 * A small SVG chart: series of points (with optional error bars) joined by lines or not, a linear
 * or logarithmic x axis, horizontal guide lines, and a legend beside the plot. Enough for the
 * report's accuracy-vs-parameters and loss-curve figures, with no plotting dependency.
 */

export interface ChartPoint {
  readonly x: number;
  readonly y: number;
  /** Half-height of an error bar. */
  readonly yError?: number;
}

export interface ChartSeries {
  readonly name: string;
  readonly points: readonly ChartPoint[];
  readonly line: boolean;
  readonly markers: boolean;
}

export interface Chart {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly xLog?: boolean;
  readonly series: readonly ChartSeries[];
  /** Dashed horizontal lines, e.g. chance level. */
  readonly guides?: ReadonlyArray<{ readonly y: number; readonly label: string }>;
}

const WIDTH = 720;
const HEIGHT = 420;
const PLOT = { left: 70, right: 540, top: 40, bottom: 360 };
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf'];

export const escapeXml = (text: string) => text.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!);
const formatTick = (value: number) => Number(value.toPrecision(6)).toLocaleString('en-US');

/** Ticks at 1, 2 or 5 × 10^k covering [min, max]; the domain is widened to the outer ticks. */
export function linearTicks(min: number, max: number, target = 5): number[] {
  if (min === max) [min, max] = [min - 1, max + 1];
  const rough = (max - min) / target;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= rough)!;
  const ticks: number[] = [];
  for (let i = Math.floor(min / step); i <= Math.ceil(max / step); i++) ticks.push(Number((i * step).toPrecision(12)));
  return ticks;
}

/** Ticks at 1, 2 and 5 × 10^k from the power of ten below min to the one above max. */
export function logTicks(min: number, max: number): number[] {
  if (!(min > 0)) throw new Error(`a logarithmic axis needs positive values, got ${min}`);
  const ticks: number[] = [];
  for (let k = Math.floor(Math.log10(min)); k <= Math.ceil(Math.log10(max)); k++) for (const m of [1, 2, 5]) ticks.push(m * 10 ** k);
  const first = ticks.findLastIndex((t) => t <= min);
  const last = ticks.findIndex((t) => t >= max);
  return ticks.slice(Math.max(first, 0), last + 1);
}

export function renderChart(chart: Chart): string {
  const points = chart.series.flatMap((s) => s.points);
  if (points.length === 0) throw new Error(`chart "${chart.title}" has no points`);
  const ys = [...points.flatMap((p) => [p.y - (p.yError ?? 0), p.y + (p.yError ?? 0)]), ...(chart.guides ?? []).map((g) => g.y)];
  const xs = points.map((p) => p.x);
  const xTicks = chart.xLog ? logTicks(Math.min(...xs), Math.max(...xs)) : linearTicks(Math.min(...xs), Math.max(...xs));
  const yTicks = linearTicks(Math.min(...ys), Math.max(...ys));
  const toX = axis(xTicks[0]!, xTicks.at(-1)!, PLOT.left, PLOT.right, chart.xLog ?? false);
  const toY = axis(yTicks[0]!, yTicks.at(-1)!, PLOT.bottom, PLOT.top, false);

  const parts: string[] = [`<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`];
  parts.push(`<text x="${WIDTH / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(chart.title)}</text>`);
  for (const t of xTicks) {
    parts.push(`<line x1="${toX(t)}" y1="${PLOT.top}" x2="${toX(t)}" y2="${PLOT.bottom}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${toX(t)}" y="${PLOT.bottom + 16}" text-anchor="middle">${formatTick(t)}</text>`);
  }
  for (const t of yTicks) {
    parts.push(`<line x1="${PLOT.left}" y1="${toY(t)}" x2="${PLOT.right}" y2="${toY(t)}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${PLOT.left - 6}" y="${toY(t) + 4}" text-anchor="end">${formatTick(t)}</text>`);
  }
  parts.push(`<rect x="${PLOT.left}" y="${PLOT.top}" width="${PLOT.right - PLOT.left}" height="${PLOT.bottom - PLOT.top}" fill="none" stroke="#333"/>`);
  parts.push(`<text x="${(PLOT.left + PLOT.right) / 2}" y="${PLOT.bottom + 40}" text-anchor="middle">${escapeXml(chart.xLabel)}</text>`);
  parts.push(`<text transform="translate(18 ${(PLOT.top + PLOT.bottom) / 2}) rotate(-90)" text-anchor="middle">${escapeXml(chart.yLabel)}</text>`);
  for (const guide of chart.guides ?? []) {
    parts.push(`<line x1="${PLOT.left}" y1="${toY(guide.y)}" x2="${PLOT.right}" y2="${toY(guide.y)}" stroke="#777" stroke-dasharray="5 4"/>`);
    parts.push(`<text x="${PLOT.right - 4}" y="${toY(guide.y) - 5}" text-anchor="end" fill="#555">${escapeXml(guide.label)}</text>`);
  }
  chart.series.forEach((series, i) => {
    const color = COLORS[i % COLORS.length]!;
    const coords = series.points.map((p) => `${toX(p.x)},${toY(p.y)}`);
    if (series.line && coords.length > 1) parts.push(`<polyline points="${coords.join(' ')}" fill="none" stroke="${color}" stroke-width="1.8"/>`);
    for (const p of series.points) {
      if (p.yError) {
        const [x, top, bottom] = [toX(p.x), toY(p.y + p.yError), toY(p.y - p.yError)];
        parts.push(`<path d="M${x},${top}V${bottom}M${x - 4},${top}H${x + 4}M${x - 4},${bottom}H${x + 4}" stroke="${color}"/>`);
      }
      if (series.markers) parts.push(`<circle cx="${toX(p.x)}" cy="${toY(p.y)}" r="4" fill="${color}"/>`);
    }
    const legendY = PLOT.top + 10 + i * 20;
    if (series.line) parts.push(`<line x1="${PLOT.right + 14}" y1="${legendY}" x2="${PLOT.right + 34}" y2="${legendY}" stroke="${color}" stroke-width="3"/>`);
    if (series.markers) parts.push(`<circle cx="${PLOT.right + 24}" cy="${legendY}" r="4" fill="${color}"/>`);
    parts.push(`<text x="${PLOT.right + 40}" y="${legendY + 4}">${escapeXml(series.name)}</text>`);
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">\n${parts.join('\n')}\n</svg>\n`;
}

/** Maps [min, max] to [from, to] in pixels, linearly or by logarithm; rounded to 0.1 px. */
function axis(min: number, max: number, from: number, to: number, log: boolean): (value: number) => number {
  const f = log ? Math.log10 : (v: number) => v;
  const [a, b] = [f(min), f(max)];
  return (value) => Math.round((from + ((f(value) - a) / (b - a || 1)) * (to - from)) * 10) / 10;
}
