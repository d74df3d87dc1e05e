import assert from 'node:assert/strict';
import { test } from 'node:test';
import { linearTicks, logTicks, renderChart, type Chart } from '../../src/eval/svg-chart.js';
import { renderHeatMap } from '../../src/eval/svg-heatmap.js';

test('linear ticks are 1, 2 or 5 × 10^k and cover the range', () => {
  assert.deepEqual(linearTicks(47.3, 52.1), [47, 48, 49, 50, 51, 52, 53]);
  assert.deepEqual(linearTicks(0, 1), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual(linearTicks(5, 5), [4, 4.5, 5, 5.5, 6]);
});

test('log ticks run from the tick at or below the least value to the one at or above the largest', () => {
  assert.deepEqual(logTicks(1104, 5120), [1000, 2000, 5000, 10000]);
  assert.deepEqual(logTicks(260, 260), [200, 500]);
  assert.throws(() => logTicks(0, 10), /positive/);
});

test('a chart is an SVG with a marker per point, a line per line series, a legend and escaped text', () => {
  const chart: Chart = {
    title: 'A & B',
    xLabel: 'parameters',
    yLabel: 'accuracy (%)',
    xLog: true,
    series: [
      { name: 'PT', points: [{ x: 5120, y: 46, yError: 1 }], line: false, markers: true },
      { name: 'n = 5', points: [{ x: 261, y: 40 }, { x: 522, y: 42 }], line: true, markers: true },
    ],
    guides: [{ y: 25, label: 'majority <25 %>' }],
  };
  const svg = renderChart(chart);
  assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.match(svg, /<\/svg>\n$/);
  assert.equal(svg.match(/<circle /g)!.length, 3 + 2); // points, then a legend marker per series
  assert.equal(svg.match(/<polyline /g)!.length, 1);
  assert.match(svg, /A &amp; B/);
  assert.match(svg, /majority &lt;25 %&gt;/);
  assert.match(svg, /stroke-dasharray/);
  assert.throws(() => renderChart({ ...chart, series: [] }), /no points/);
});

test('a heat map shades each cell by its value (white to blue), writes it, keeps text cells grey, and labels its colour bar', () => {
  const svg = renderHeatMap({
    title: 'n × r <grid>',
    rowLabel: 'n',
    columnLabel: 'r',
    rows: [5, 10],
    columns: [1, 8],
    values: [[40, 'r > n'], [45, 50]],
    format: (v) => v.toFixed(1),
  });
  assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"[\s\S]*<\/svg>\n$/);
  assert.match(svg, /n × r &lt;grid&gt;/);
  const fills = [...svg.matchAll(/<rect x="\d+" y="\d+" width="92" height="52" fill="([^"]+)"/g)].map((m) => m[1]);
  assert.deepEqual(fills, ['rgb(247,251,255)', '#ddd', 'rgb(128,166,206)', 'rgb(8,81,156)']); // low, text, middle, high
  for (const text of ['>40.0<', '>r &gt; n<', '>45.0<', '>50.0<']) assert.ok(svg.includes(text), text);
  assert.match(svg, /<linearGradient id="bar"/);
  assert.throws(() => renderHeatMap({ title: 't', rowLabel: 'n', columnLabel: 'r', rows: [1], columns: [1], values: [['failed']], format: String }), /no values/);
});
