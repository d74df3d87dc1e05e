import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { DatasetLimitExceeded, type DatasetLimit } from '../../src/engine/datasets/dataset-limits.js';
import type { DatasetRow, ReadOptions } from '../../src/engine/datasets/dataset-row.js';
import { parseDataset, streamDataset } from '../../src/engine/datasets/parse-dataset.js';
import { EngineError } from '../../src/engine/engine-error.js';
import { TASK_CATALOG } from '../../src/engine/tasks/task-catalog.js';
import { DATASETS_DIR } from '../helpers/shared.js';

/** The bytes in pieces of `size` (cutting through multi-byte characters and '\r\n' where they fall). */
async function* pieces(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}

async function streamed(text: string | Uint8Array, options: ReadOptions, size = 7): Promise<DatasetRow[]> {
  const rows: DatasetRow[] = [];
  const count = await streamDataset(pieces(typeof text === 'string' ? Buffer.from(text) : text, size), options, (row) => rows.push(row));
  assert.equal(count, rows.length);
  return rows;
}

function overLimit(limit: DatasetLimit, max: number, line: number) {
  return (err: unknown) => {
    assert.ok(err instanceof DatasetLimitExceeded, String(err));
    assert.equal(err.code, 'DATASET_INVALID');
    assert.deepEqual({ limit: err.limit, max: err.max, line: err.line }, { limit, max, line });
    assert.match(err.message, new RegExp(`^upload line ${line}: .*${max}.* \\(the limit\\)$`));
    return true;
  };
}

test('streamed in small pieces, the shared datasets read as they do whole', async () => {
  const files: Array<[string, ReadOptions]> = [
    ['sst2/dev.tsv', TASK_CATALOG.sst2.reading],
    ['ag_news/dev.csv', TASK_CATALOG.ag_news.reading],
    ['superglue/BoolQ/train32.jsonl', TASK_CATALOG.boolq.reading],
  ];
  for (const [file, reading] of files) {
    const bytes = readFileSync(join(DATASETS_DIR, file));
    const whole = parseDataset(bytes.toString('utf8'), reading);
    assert.ok(whole.length >= 32, file);
    assert.deepEqual(await streamed(bytes, reading, 1000), whole, file);
    assert.deepEqual(await streamed(bytes, reading, 3), whole, file);
  }
});

test('a byte-order mark, CRLF line ends and characters split between pieces read as whole text does', async () => {
  const csv = '\uFEFFlabel,content\r\n1,"a, é"\r\n\r\n2,"line one\r\nline ""two"" ✓"\r\n3,plain\r\n';
  const jsonl = '\uFEFF{"text": "naïve ✓"}\r\n\r\n{"text": "b"}';
  for (const size of [1, 2, 3, 5]) {
    assert.deepEqual(await streamed(csv, { format: 'csv' }, size), parseDataset(csv, { format: 'csv' }));
    assert.deepEqual(await streamed(jsonl, { format: 'jsonl' }, size), [
      { line: 1, fields: { text: 'naïve ✓' } },
      { line: 3, fields: { text: 'b' } },
    ]);
  }
});

test('streamed, malformed rows are refused with their line as whole text refuses them', async () => {
  const cases: Array<[string, ReadOptions, RegExp]> = [
    ['{"text":"x"}\n{oops\n', { format: 'jsonl', source: 'up' }, /^up line 2: not valid JSON/],
    ['a,b\n1,2\n3,"open\n', { format: 'csv', source: 'up' }, /^up line 3: Quote Not Closed/],
    ['a\tb\n1\t2\t3\n', { format: 'tsv', source: 'up' }, /^up line 2: 3 columns, expected 2$/],
    ['\n \n', { format: 'jsonl', source: 'up' }, /^up: no rows$/],
  ];
  for (const [text, options, message] of cases) {
    const refused = (err: unknown) => err instanceof EngineError && err.code === 'DATASET_INVALID' && message.test(err.message);
    assert.throws(() => parseDataset(text, options), refused);
    await assert.rejects(streamed(text, options), refused);
  }
});

test('past maxRows, maxFields or maxLineBytes a dataset is refused, naming the limit and the line, in every format', async () => {
  const source = 'upload';
  const cases: Array<[string, ReadOptions, DatasetLimit, number, number]> = [
    ['{"a":1}\n{"a":2}\n\n{"a":3}\n', { format: 'jsonl', limits: { maxRows: 2 } }, 'maxRows', 2, 4],
    ['a,b\n1,2\n3,4\n5,6\n', { format: 'csv', limits: { maxRows: 2 } }, 'maxRows', 2, 4],
    ['a\tb\n1\t2\n3\t4\n', { format: 'tsv', limits: { maxRows: 1 } }, 'maxRows', 1, 3],
    ['{"a":1,"b":2}\n{"a":1,"b":2,"c":3}\n', { format: 'jsonl', limits: { maxFields: 2 } }, 'maxFields', 2, 2],
    ['a,b,c\n1,2,3\n', { format: 'csv', limits: { maxFields: 2 } }, 'maxFields', 2, 2],
    ['1\t2\t3\n', { format: 'tsv', header: false, limits: { maxFields: 2 } }, 'maxFields', 2, 1],
    [`{"a":"x"}\n{"a":"${'x'.repeat(100)}"}\n`, { format: 'jsonl', limits: { maxLineBytes: 50 } }, 'maxLineBytes', 50, 2],
    [`a,b\n1,2\n3,"${'x'.repeat(100)}"\n`, { format: 'csv', limits: { maxLineBytes: 50 } }, 'maxLineBytes', 50, 3],
    [`a\tb\n1\t${'x'.repeat(100)}\n`, { format: 'tsv', limits: { maxLineBytes: 50 } }, 'maxLineBytes', 50, 2],
  ];
  for (const [text, options, limit, max, line] of cases) {
    assert.throws(() => parseDataset(text, { ...options, source }), overLimit(limit, max, line), `${options.format} ${limit}`);
    await assert.rejects(streamed(text, { ...options, source }), overLimit(limit, max, line), `${options.format} ${limit} streamed`);
    // Under looser limits the same text reads.
    const fits = { ...options, source, limits: { [limit]: limit === 'maxRows' ? 10 : 200 } };
    assert.ok(parseDataset(text, fits).length > 0);
  }
});

test('maxLineBytes counts UTF-8 bytes, not characters', () => {
  const line = (char: string) => `{"t":"${char.repeat(30)}"}\n`;
  const limits = { maxLineBytes: 50 };
  assert.equal(parseDataset(line('e'), { format: 'jsonl', limits }).length, 1); // 38 bytes
  assert.throws(() => parseDataset(line('é'), { format: 'jsonl', source: 'upload', limits }), overLimit('maxLineBytes', 50, 1)); // 68 bytes, 38 characters
});

test('a line past maxLineBytes is refused before the rest of it is read', async () => {
  let piecesRead = 0;
  async function* endlessLine(): AsyncGenerator<Uint8Array> {
    yield Buffer.from('{"text": "short"}\n{"text": "');
    for (;;) {
      piecesRead++;
      yield Buffer.alloc(1024, 'x');
    }
  }
  await assert.rejects(
    streamDataset(endlessLine(), { format: 'jsonl', source: 'upload', limits: { maxLineBytes: 64 * 1024 } }, () => {}),
    overLimit('maxLineBytes', 64 * 1024, 2),
  );
  assert.ok(piecesRead <= 65, `read ${piecesRead} pieces of 1 KiB for a limit of 64 KiB`);

  piecesRead = 0;
  async function* endlessRecord(): AsyncGenerator<Uint8Array> {
    yield Buffer.from('a,b\n1,"');
    for (;;) {
      piecesRead++;
      yield Buffer.alloc(1024, 'x');
    }
  }
  await assert.rejects(streamDataset(endlessRecord(), { format: 'csv', source: 'upload', limits: { maxLineBytes: 64 * 1024 } }, () => {}), overLimit('maxLineBytes', 64 * 1024, 2));
  assert.ok(piecesRead <= 80, `read ${piecesRead} pieces of 1 KiB for a limit of 64 KiB`);
});

test('an error of the source ends the stream with that error', async () => {
  async function* broken(firstRow: string): AsyncGenerator<Uint8Array> {
    yield Buffer.from(firstRow);
    throw new Error('the client went away');
  }
  await assert.rejects(streamDataset(broken('{"a":1}\n'), { format: 'jsonl' }, () => {}), /the client went away/);
  await assert.rejects(streamDataset(broken('a,b\n1,2\n'), { format: 'csv' }, () => {}), /the client went away/);
});
