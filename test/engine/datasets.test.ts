import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { EngineError } from '../../src/engine/engine-error.js';
import { TASK_CATALOG, type TaskId } from '../../src/engine/tasks/task-catalog.js';
import type { DatasetRow, ReadOptions } from '../../src/engine/datasets/dataset-row.js';
import { parseDataset, readDatasetFile } from '../../src/engine/datasets/parse-dataset.js';
import { splitTrainValidation } from '../../src/engine/datasets/split-train-validation.js';
import { DATASETS_DIR } from '../helpers/shared.js';
import { tempDir } from '../helpers/temp-dir.js';

const dir = tempDir();

function fileWith(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

function invalid(code: string, message: RegExp) {
  return (err: unknown) => err instanceof EngineError && err.code === code && message.test(err.message);
}

async function readPreset(name: TaskId, file: string): Promise<DatasetRow[]> {
  const rows = await readDatasetFile(join(DATASETS_DIR, file), TASK_CATALOG[name].reading);
  const preset: readonly string[] = TASK_CATALOG[name].reading.labels;
  const fieldNames = Object.keys(TASK_CATALOG[name].reading.columns).sort();
  for (const row of rows) {
    assert.deepEqual(Object.keys(row.fields).sort(), fieldNames);
    assert.ok(preset.includes(row.fields.label!), `line ${row.line}: label ${row.fields.label}`);
  }
  assert.deepEqual(new Set(rows.map((row) => row.fields.label)), new Set(preset));
  return rows;
}

test('SST-2 dev (unquoted TSV with header) reads with the sst2 preset', async () => {
  const rows = await readPreset('sst2', 'sst2/dev.tsv');
  assert.equal(rows.length, 872);
  assert.deepEqual(rows[0], { line: 2, fields: { text: "it 's a charming and often affecting journey . ", label: '1' } });
  assert.equal(rows.at(-1)!.line, 873);
});

test('AG News dev (quoted CSV with header) reads with the ag_news preset', async () => {
  const rows = await readPreset('ag_news', 'ag_news/dev.csv');
  assert.equal(rows.length, 998);
  assert.equal(rows[0]!.fields.label, '2');
  assert.equal(rows[0]!.fields.text, ' CLEVELAND, Ohio (Sports Network) - Cleveland Browns head  coach Butch Davis resigned Tuesday.');
  assert.equal(TASK_CATALOG.ag_news.reading.labelNames['1'], 'World');
});

test('SuperGLUE RTE, CB and BoolQ (JSONL) read with their presets', async () => {
  for (const [name, folder] of [['rte', 'RTE'], ['cb', 'CB'], ['boolq', 'BoolQ']] as const) {
    const rows = await readPreset(name, `superglue/${folder}/train32.jsonl`);
    assert.equal(rows.length, 32, name);
    assert.deepEqual(rows.map((row) => row.line), Array.from({ length: 32 }, (_, i) => i + 1));
  }
  const [first] = await readDatasetFile(join(DATASETS_DIR, 'superglue/BoolQ/train32.jsonl'), TASK_CATALOG.boolq.reading);
  assert.equal(first!.fields.question, 'is ghost in the shell based on the anime');
});

test('JSONL keeps every key without a mapping and turns numbers and booleans into strings', () => {
  const rows = parseDataset('{"a": 1, "b": true, "c": "x"}\n\n  \n{"a": 2.5, "b": false, "c": ""}\n', { format: 'jsonl' });
  assert.deepEqual(rows, [
    { line: 1, fields: { a: '1', b: 'true', c: 'x' } },
    { line: 4, fields: { a: '2.5', b: 'false', c: '' } },
  ]);
});

test('bad JSON is refused with its file and line', async () => {
  const path = fileWith('bad.jsonl', '{"text": "a", "label": 0}\n{"text": "b", "label": 1}\n{"text": "c", label: 0}\n');
  await assert.rejects(readDatasetFile(path, { format: 'jsonl' }), invalid('DATASET_INVALID', /bad\.jsonl line 3: not valid JSON \(/));
  assert.throws(() => parseDataset('[1, 2]\n', { format: 'jsonl', source: 'upload' }), invalid('DATASET_INVALID', /^upload line 1: not a JSON object$/));
});

test('a mapped key missing from a row is refused with the key and the line', () => {
  const text = '{"sentence": "a", "label": 0}\n{"text": "b", "label": 1}\n';
  assert.throws(
    () => parseDataset(text, { format: 'jsonl', columns: { text: 'sentence', label: 'label' } }),
    invalid('DATASET_INVALID', /^dataset line 2: missing 'sentence' \(found: text, label\)$/),
  );
});

test('nested or null values are refused in mapped fields and ignored elsewhere', () => {
  const columns = { text: 'text', label: 'label' };
  assert.throws(() => parseDataset('{"text": "a", "label": 0}\n{"text": {"x": 1}, "label": 1}\n', { format: 'jsonl', columns }), invalid('DATASET_INVALID', /line 2: 'text' is an object/));
  assert.throws(() => parseDataset('{"text": ["a"], "label": 0}\n', { format: 'jsonl', columns }), invalid('DATASET_INVALID', /line 1: 'text' is an array/));
  assert.throws(() => parseDataset('{"text": "a", "label": null}\n', { format: 'jsonl', columns }), invalid('DATASET_INVALID', /line 1: 'label' is null/));
  assert.deepEqual(parseDataset('{"text": "a", "label": 0, "meta": {"x": [1]}}\n', { format: 'jsonl', columns }), [{ line: 1, fields: { text: 'a', label: '0' } }]);
});

test('empty files, blank-only files and header-only CSVs are refused', async () => {
  await assert.rejects(readDatasetFile(fileWith('empty.jsonl', ''), { format: 'jsonl' }), invalid('DATASET_INVALID', /empty\.jsonl: no rows$/));
  assert.throws(() => parseDataset('\n  \n\n', { format: 'jsonl', source: 'blank' }), invalid('DATASET_INVALID', /^blank: no rows$/));
  assert.throws(() => parseDataset('label,content\n', { format: 'csv', header: true }), invalid('DATASET_INVALID', /^dataset: no rows$/));
  assert.throws(() => parseDataset('label,content\n', { format: 'csv', columns: { text: 'content', label: 'label' } }), invalid('DATASET_INVALID', /no rows/));
});

test('a CSV row with the wrong number of columns is refused with its line', async () => {
  const path = fileWith('short.csv', 'label,content\n1,"a, b"\n\n2\n3,c\n');
  await assert.rejects(readDatasetFile(path, { format: 'csv' }), invalid('DATASET_INVALID', /short\.csv line 4: 1 columns, expected 2$/));
  assert.throws(() => parseDataset('a\tb\n1\t2\t3\n', { format: 'tsv' }), invalid('DATASET_INVALID', /^dataset line 2: 3 columns, expected 2$/));
});

test('broken CSV quoting is refused with its line', () => {
  assert.throws(() => parseDataset('a,b\n1,x"y\n', { format: 'csv' }), invalid('DATASET_INVALID', /^dataset line 2: /));
  assert.throws(() => parseDataset('a,b\n1,2\n3,"open\n', { format: 'csv' }), invalid('DATASET_INVALID', /^dataset line 3: Quote Not Closed/));
});

test('quoted CSV fields keep embedded commas, quotes and newlines, and later lines keep their numbers', () => {
  const text = '\uFEFFlabel,content\r\n1,"a, b"\r\n\r\n2,"line one\r\nline ""two""\n\nline four"\r\n3,plain\r\n';
  assert.deepEqual(parseDataset(text, { format: 'csv' }), [
    { line: 2, fields: { label: '1', content: 'a, b' } },
    { line: 4, fields: { label: '2', content: 'line one\nline "two"\n\nline four' } },
    { line: 8, fields: { label: '3', content: 'plain' } },
  ]);
});

test('TSV takes quotes literally', () => {
  const rows = parseDataset('sentence\tlabel\nhe said "hi\t1\n"odd\t0\n', { format: 'tsv', columns: { text: 'sentence', label: 'label' } });
  assert.deepEqual(rows, [
    { line: 2, fields: { text: 'he said "hi', label: '1' } },
    { line: 3, fields: { text: '"odd', label: '0' } },
  ]);
});

test('header detection: by mapped names, by numbers, or as told', () => {
  const withHeader = 'label,text\n1,good\n';
  const withoutHeader = 'pos,good\nneg,bad\n';
  const mapping = { text: 'text', label: 'label' };
  assert.deepEqual(parseDataset(withHeader, { format: 'csv', columns: mapping }).map((row) => row.fields), [{ text: 'good', label: '1' }]);
  assert.deepEqual(parseDataset(withoutHeader, { format: 'csv', columns: { label: '0', text: '1' } }).map((row) => row.line), [1, 2]);
  assert.deepEqual(parseDataset(withHeader, { format: 'csv' }), [{ line: 2, fields: { label: '1', text: 'good' } }]);
  assert.deepEqual(parseDataset('1,good\n2,bad\n', { format: 'csv' }).map((row) => row.fields), [{ 0: '1', 1: 'good' }, { 0: '2', 1: 'bad' }]);
  assert.deepEqual(parseDataset(withoutHeader, { format: 'csv' }).map((row) => row.fields), [{ pos: 'neg', good: 'bad' }]);
  assert.deepEqual(parseDataset(withoutHeader, { format: 'csv', header: false }).map((row) => row.fields), [{ 0: 'pos', 1: 'good' }, { 0: 'neg', 1: 'bad' }]);
  assert.deepEqual(parseDataset('1,2\n3,4\n', { format: 'csv', header: true }).map((row) => row.fields), [{ 1: '3', 2: '4' }]);
});

test('header-less CSV columns are mapped by index', () => {
  const rows = parseDataset('3,"Wall St., again"\n4,"Chips"\n', { format: 'csv', header: false, columns: { label: '0', text: '1' } });
  assert.deepEqual(rows, [
    { line: 1, fields: { label: '3', text: 'Wall St., again' } },
    { line: 2, fields: { label: '4', text: 'Chips' } },
  ]);
  assert.throws(() => parseDataset('1,a\n', { format: 'csv', header: false, columns: { text: '2' } }), invalid('DATASET_INVALID', /line 1: missing '2' \(found: 0, 1\)/));
});

test('an unknown format is a bad argument', () => {
  assert.throws(() => parseDataset('a', { format: 'xml' } as unknown as ReadOptions), invalid('BAD_ARGUMENT', /unknown dataset format 'xml'/));
});

test('a missing file is refused with its path', async () => {
  await assert.rejects(readDatasetFile(join(dir, 'nope.csv'), { format: 'csv' }), invalid('DATASET_INVALID', /nope\.csv: cannot read/));
});

test('the train/validation split is a seeded, deterministic partition', () => {
  const rows = Array.from({ length: 100 }, (_, i) => i);
  const a = splitTrainValidation(rows, { validationFraction: 0.2, seed: 7 });
  assert.equal(a.validation.length, 20);
  assert.equal(a.train.length, 80);
  assert.deepEqual([...a.train, ...a.validation].sort((x, y) => x - y), rows);
  assert.deepEqual(splitTrainValidation(rows, { validationFraction: 0.2, seed: 7 }), a);
  assert.notDeepEqual(splitTrainValidation(rows, { validationFraction: 0.2, seed: 8 }).validation, a.validation);
  assert.notDeepEqual(a.validation, rows.slice(0, 20));
});

test('the split leaves both parts non-empty from two rows, and checks its arguments', () => {
  for (const fraction of [0.01, 0.99]) {
    const { train, validation } = splitTrainValidation(['a', 'b'], { validationFraction: fraction, seed: 1 });
    assert.equal(train.length, 1);
    assert.equal(validation.length, 1);
  }
  assert.deepEqual(splitTrainValidation(['a'], { validationFraction: 0.5, seed: 1 }), { train: ['a'], validation: [] });
  for (const fraction of [0, 1, -0.1, Number.NaN]) {
    assert.throws(() => splitTrainValidation([1, 2, 3], { validationFraction: fraction, seed: 1 }), invalid('BAD_ARGUMENT', /validationFraction/));
  }
  assert.throws(() => splitTrainValidation([1, 2, 3], { validationFraction: 0.5, seed: 1.5 }), invalid('BAD_ARGUMENT', /seed/));
});
