/**
 * `npm run eval:paper -- --profile smoke` end to end: it starts its own service (API and two
 * worker processes), trains every run of the profile through the REST API, writes results.md with
 * its figures, and leaves no database behind.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import pg from 'pg';
import { tempDir } from '../helpers/temp-dir.js';

const out = tempDir('lopt-eval-');
const FIGURES = ['accuracy-sst2', 'loss-sst2', 'accuracy-ag_news', 'loss-ag_news', 'accuracy-rte', 'loss-rte', 'ablation-sst2'].map((name) => `figures/${name}.svg`);

test('the smoke profile runs through the service and writes the report and its figures', { timeout: 180_000 }, async () => {
  const { stderr } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/eval/eval-paper.ts', '--profile', 'smoke', '--workers', '2', '--out', out]);
  assert.match(stderr, /submitted 13 jobs/);

  const report = readFileSync(join(out, 'results.md'), 'utf8');
  assert.match(report, /Command:\*\* `npm run eval:paper -- --profile smoke --workers 2 --out /);
  assert.match(report, /TensorFlow.js backend `wasm(\+openblas)?` \(from `\/readyz`\)/);
  for (const section of ['## SST-2', '## AG News', '## RTE', '## Ablation: LoPT-1 on SST-2 over n × r', '## Verdict']) assert.ok(report.includes(section), section);
  assert.match(report, /\| LoPT-1 \| 20 \| 4 \| 1,104 \| 4\.6× \|/);
  assert.equal(report.match(/\| succeeded \|/g)?.length, 13);
  for (const figure of FIGURES) {
    assert.ok(report.includes(`](${figure})`), `${figure} is linked`);
    assert.match(readFileSync(join(out, figure), 'utf8'), /^<svg [^>]+>[\s\S]*<(circle|polyline) [\s\S]*<\/svg>\n$/);
  }

  const id = /lopt-eval-(\w+)\.log/.exec(stderr)![1];
  const admin = new pg.Client({ connectionString: 'postgresql://postgres@127.0.0.1:5432/postgres' });
  await admin.connect();
  const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [`lopt_eval_${id}`]);
  await admin.end();
  assert.equal(rowCount, 0);
});
