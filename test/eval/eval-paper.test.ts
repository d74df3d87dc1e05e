/**
 * `npm run eval:paper -- --profile smoke` end to end: it starts its own service (API and two
 * worker processes), tunes each method's learning rate on validation rows, trains every final run
 * of the profile through the REST API, writes results.md with its figures, and leaves no database
 * behind. The paper profile refuses this machine before starting anything.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import pg from 'pg';
import { isOwnFigure } from '../../src/eval/evaluation.js';
import { tempDir } from '../helpers/temp-dir.js';

const out = tempDir('lopt-eval-');
const CHARTS = ['tuning', 'accuracy', 'loss'].flatMap((kind) => ['ag_news', 'sst2'].map((task) => `${kind}-${task}`)).concat('ablation-ag_news');
const HEAT_MAPS = ['ablation-accuracy-ag_news', 'ablation-per-parameter-ag_news'];
const figure = (name: string) => `figures/${name}.svg`;

test('the smoke profile tunes, then trains the comparison and the ablation through the service, and writes the report and its figures', { timeout: 300_000 }, async () => {
  const { stderr } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/eval/eval-paper.ts', '--profile', 'smoke', '--workers', '2', '--out', out]);
  // Tuning: per dataset PT and LoPT-1 at 2 learning rates, LoPT-2 at 2 × 2 σ; final: 2 seeds × 3 configurations × 2 datasets, and 4 ablation cells.
  assert.deepEqual([...stderr.matchAll(/submitted (\d+) jobs/g)].map((m) => Number(m[1])), [16, 16]);
  assert.match(stderr, /ag_news\/lopt2: learning rate 0\.(01|1), σ (tanh|sigmoid) \(validation accuracy/);

  const report = readFileSync(join(out, 'results.md'), 'utf8');
  assert.match(report, /Command:\*\* `npm run eval:paper -- --profile smoke --workers 2 --out /);
  assert.match(report, /TensorFlow.js backend `wasm(\+openblas)?` \(from `\/readyz`\)/);
  for (const section of ['## AG News', '## SST-2', '## Ablation: LoPT-1 on AG News over n × r', '## Verdict', '**Tuning**', '**Comparison**']) assert.ok(report.includes(section), section);
  assert.match(report, /\| validation accuracy % \| lr 0\.01 \| lr 0\.1 \|/);
  assert.match(report, /\| LoPT-2, σ = sigmoid \| /);
  assert.match(report, /\| LoPT-1 r = 1 \| 20 \| 1 \| 276 \| 18\.6× \| 0\.(01|1) \| [\d.]+ ± [\d.]+ \| [+−][\d.]+ ± [\d.]+ \(2 seeds, 95 % CI ±[\d.]+\) \| 2\/2 \|/);
  assert.equal(report.match(/\| succeeded \|/g)?.length, 32);
  // Two steps are too short a curve to tell whether the loss has flattened: said so, per dataset.
  assert.equal(report.match(/\*\*Convergence:\*\* the training-loss curves are too short to tell/g)?.length, 2);
  for (const name of CHARTS) {
    assert.ok(report.includes(`](${figure(name)})`), `${name} is linked`);
    assert.match(readFileSync(join(out, figure(name)), 'utf8'), /^<svg [^>]+>[\s\S]*<(circle|polyline) [\s\S]*<\/svg>\n$/);
  }
  for (const name of HEAT_MAPS) {
    assert.ok(report.includes(`](${figure(name)})`), `${name} is linked`);
    assert.match(readFileSync(join(out, figure(name)), 'utf8'), /^<svg [^>]+>[\s\S]*<rect x="\d+" y="\d+" width="92" height="52" fill="rgb\([\s\S]*<\/svg>\n$/);
  }

  const id = /lopt-eval-(\w+)\.log/.exec(stderr)![1];
  const admin = new pg.Client({ connectionString: 'postgresql://postgres@127.0.0.1:5432/postgres' });
  await admin.connect();
  const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [`lopt_eval_${id}`]);
  await admin.end();
  assert.equal(rowCount, 0);
});

const SMALL_MACHINE = cpus().length < 16 || totalmem() < 32 * 2 ** 30;

test('the paper profile says what it needs and refuses a machine too small for it, starting nothing', { skip: SMALL_MACHINE ? false : 'this machine is large enough for the paper profile' }, async () => {
  const run = promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/eval/eval-paper.ts', '--profile', 'paper', '--out', out]);
  const failure = (await run.then(() => assert.fail('the paper profile started on this machine'), (err: unknown) => err)) as { code: number; stderr: string };
  assert.equal(failure.code, 2);
  assert.match(failure.stderr, /needs: a served model "gpt2-large"/);
  assert.match(failure.stderr, /about [\d.]+ hours on this machine/);
  assert.match(failure.stderr, /refused: profile paper needs .*cores/);
  assert.doesNotMatch(failure.stderr, /started the service/);
});

test('a new run clears every figure an earlier run wrote, and only those', () => {
  for (const name of ['accuracy-ag_news.svg', 'loss-rte.svg', 'tuning-sst2.svg', 'ablation-sst2.svg', 'ablation-accuracy-ag_news.svg', 'ablation-per-parameter-ag_news.svg']) assert.ok(isOwnFigure(name), name);
  for (const name of ['diagram.svg', 'accuracy-ag_news.png', 'notes-accuracy.svg', 'accuracy.svg']) assert.ok(!isOwnFigure(name), name);
});
