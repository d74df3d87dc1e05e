/**
 * sequenceBound and checkInputRoom bound, without a tokenizer, what TaskEncoder makes with the real
 * one: never less (the API's job limits rest on it), and exact where inputs are cut to fit.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, test } from 'node:test';
import type { DatasetRow } from '../../src/engine/datasets/dataset-row.js';
import { TASK_CATALOG } from '../../src/engine/tasks/task-catalog.js';
import { checkInputRoom, sequenceBound, TaskEncoder } from '../../src/engine/tasks/task-encoder.js';
import type { TaskSpec } from '../../src/engine/tasks/task-spec.js';
import { loadTokenizer, type TextTokenizer } from '../../src/engine/tokenizer.js';
import { sst2Rows } from '../helpers/engine-fixtures.js';
import { MODELS_DIR } from '../helpers/shared.js';

const MAX_POSITIONS = 128; // gpt2-mini's
let tokenizer: TextTokenizer;
before(async () => {
  tokenizer = await loadTokenizer(join(MODELS_DIR, 'gpt2-mini'));
});

const rows = (fields: Array<Record<string, string>>): DatasetRow[] => fields.map((f, i) => ({ line: i + 1, fields: f }));

/** What the encoder and the objective really run: the longest sequence, and sequences per example. */
function actual(spec: TaskSpec, data: readonly DatasetRow[], promptRows: number) {
  const encoder = new TaskEncoder(spec, tokenizer, { maxPositions: MAX_POSITIONS, promptRows });
  const examples = encoder.encodeAll(data);
  const longestWord = Math.max(0, ...encoder.labelTokens.map((t) => t.length));
  const after = (e: (typeof examples)[number]) => (spec.kind === 'classification' ? (longestWord > 1 ? longestWord - 1 : 0) : e.target!.length - 1);
  return {
    positions: Math.max(...examples.map((e) => promptRows + e.input.length + after(e))),
    sequencesPerExample: longestWord > 1 ? encoder.labelTokens.length : 1,
  };
}

function assertBounds(spec: TaskSpec, data: readonly DatasetRow[], promptRows: number) {
  const bound = sequenceBound(spec, data, { maxPositions: MAX_POSITIONS, promptRows });
  const real = actual(spec, data, promptRows);
  assert.ok(bound.positions >= real.positions, `bound ${bound.positions} < real ${real.positions}`);
  assert.ok(bound.positions <= MAX_POSITIONS);
  assert.ok(bound.sequencesPerExample >= real.sequencesPerExample, `bound ${bound.sequencesPerExample} < real ${real.sequencesPerExample} sequences per example`);
  return { bound, real };
}

const UNICODE = ['naïve café — déjà vu', '東京の夜は美しい', 'emoji 🎬🍿 film!', 'Ünïcödé ½ ∑ ≠ ∞', ' spaces   and\ttabs\n'];

test('classification: the bound holds for real SST-2 rows, unicode, multi-token label words, and is exact for rows cut to fit', async () => {
  const sst2 = await sst2Rows(200);
  const { bound } = assertBounds(TASK_CATALOG.sst2.task, sst2, 20);
  assert.equal(bound.sequencesPerExample, 2, 'label words of several bytes may take several tokens: one sequence per label');

  const multiToken: TaskSpec = { kind: 'classification', template: 'Review: {text} Verdict:', labelWords: { '0': ' utterly dreadful', '1': ' wonderfully charming', '2': ' meh' } };
  const labels = UNICODE.map((text, i) => ({ text, label: String(i % 3) }));
  const { real } = assertBounds(multiToken, rows(labels), 8);
  assert.equal(real.sequencesPerExample, 3, 'the words really are several tokens, so the objective runs a sequence per label');

  const long = rows([{ text: 'word '.repeat(400), label: '1' }, { text: '🎬'.repeat(300), label: '0' }]);
  const cut = assertBounds(TASK_CATALOG.sst2.task, long, 20);
  assert.equal(cut.real.positions, MAX_POSITIONS);
  assert.equal(cut.bound.positions, MAX_POSITIONS);

  const oneByteWords: TaskSpec = { kind: 'classification', template: '{text} =', labelWords: { a: 'A', b: 'B' } };
  assert.equal(assertBounds(oneByteWords, rows([{ text: 'x', label: 'a' }]), 4).bound.sequencesPerExample, 1);
});

test('text-to-text: the bound holds with targets cut at maxTargetTokens, with end-of-text, and with empty targets', () => {
  const spec: TaskSpec = { kind: 'text-to-text', template: 'Q: {question} A:', maxTargetTokens: 12 };
  const data = rows([
    { question: 'what is two and two', target: ' four' },
    { question: 'name a colour', target: ' a rather long answer that runs well past the twelve target tokens kept' },
    { question: '東京はどこ', target: ' 日本' },
    { question: 'nothing', target: '' },
    { question: 'long '.repeat(200), target: ' and the answer to this one is long as well, longer than twelve tokens' },
  ]);
  const { bound, real } = assertBounds(spec, data, 10);
  assert.equal(bound.sequencesPerExample, 1);
  assert.equal(real.positions, MAX_POSITIONS - 1, 'the long question fills the room left beside 12 target tokens (the last not an input)');
});

test('checkInputRoom refuses whatever the encoder would refuse, naming what takes the room', () => {
  const encoderOf = (spec: TaskSpec, promptRows: number) => () => new TaskEncoder(spec, tokenizer, { maxPositions: MAX_POSITIONS, promptRows });
  const roomOf = (spec: TaskSpec, promptRows: number) => () => checkInputRoom(spec, { maxPositions: MAX_POSITIONS, promptRows });
  const target = (maxTargetTokens: number): TaskSpec => ({ kind: 'text-to-text', template: '{q}', maxTargetTokens });

  const tooMany = /: 4 prompt rows and maxTargetTokens = 124 \(at most 123 here\) leave no room for input in 128 positions$/;
  assert.throws(encoderOf(target(124), 4), tooMany);
  assert.throws(roomOf(target(124), 4), tooMany);
  assert.doesNotThrow(encoderOf(target(123), 4));
  assert.doesNotThrow(roomOf(target(123), 4));
  assert.throws(roomOf(target(512), 20), /20 prompt rows and maxTargetTokens = 512 \(at most 107 here\)/);

  assert.throws(roomOf(TASK_CATALOG.sst2.task, 128), /: 128 prompt rows and a label word of up to 9 tokens leave no room/);
  // Without a tokenizer a label word counts a token per byte: refused where the encoder might fail.
  const wide: TaskSpec = { kind: 'classification', template: '{text}', labelWords: { a: ' é'.repeat(40), b: ' no' } }; // 120 bytes
  assert.throws(roomOf(wide, 10), /10 prompt rows and a label word of up to 120 tokens leave no room for input in 128 positions/);
  assert.doesNotThrow(roomOf(wide, 8));
});
