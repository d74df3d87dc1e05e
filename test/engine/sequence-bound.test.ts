/**
 * sequenceBound and checkInputRoom bound, without a tokenizer, what TaskEncoder makes with the real
 * one, whichever kind it is (GPT-2's and Qwen2's byte-level BPE, Llama's SentencePiece BPE with
 * its BOS, T5's Unigram with its EOS): never less (the API's job limits rest on it), and exact
 * where inputs are cut to fit.
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
import { TOKENIZER_FIXTURES } from '../helpers/tokenizer-fixtures.js';

const MAX_POSITIONS = 128; // gpt2-mini's
const FOLDERS = { 'gpt2-mini': join(MODELS_DIR, 'gpt2-mini'), llama: TOKENIZER_FIXTURES.llama, qwen2: TOKENIZER_FIXTURES.qwen2, t5: join(MODELS_DIR, 'tiny-t5-random') };
const tokenizers = new Map<keyof typeof FOLDERS, TextTokenizer>();
before(async () => {
  for (const [name, dir] of Object.entries(FOLDERS)) tokenizers.set(name as keyof typeof FOLDERS, await loadTokenizer(dir));
});

const rows = (fields: Array<Record<string, string>>): DatasetRow[] => fields.map((f, i) => ({ line: i + 1, fields: f }));

/** What the encoder and the objective really run: the longest sequence, and sequences per example. */
function actual(tokenizer: TextTokenizer, spec: TaskSpec, data: readonly DatasetRow[], promptRows: number) {
  const encoder = new TaskEncoder(spec, tokenizer, { maxPositions: MAX_POSITIONS, promptRows });
  const examples = encoder.encodeAll(data);
  const longestWord = Math.max(0, ...encoder.labelTokens.map((t) => t.length));
  const after = (e: (typeof examples)[number]) => (spec.kind === 'classification' ? (longestWord > 1 ? longestWord - 1 : 0) : e.target!.length - 1);
  return {
    positions: Math.max(...examples.map((e) => promptRows + e.input.length + after(e))),
    sequencesPerExample: longestWord > 1 ? encoder.labelTokens.length : 1,
  };
}

/** The bound against every tokenizer; `real` is the most any of them runs. */
function assertBounds(spec: TaskSpec, data: readonly DatasetRow[], promptRows: number) {
  const bound = sequenceBound(spec, data, { maxPositions: MAX_POSITIONS, promptRows });
  assert.ok(bound.positions <= MAX_POSITIONS);
  const real = { positions: 0, sequencesPerExample: 0 };
  for (const [name, tokenizer] of tokenizers) {
    const { positions, sequencesPerExample } = actual(tokenizer, spec, data, promptRows);
    assert.ok(bound.positions >= positions, `${name}: bound ${bound.positions} < real ${positions}`);
    assert.ok(bound.sequencesPerExample >= sequencesPerExample, `${name}: bound ${bound.sequencesPerExample} < real ${sequencesPerExample} sequences per example`);
    real.positions = Math.max(real.positions, positions);
    real.sequencesPerExample = Math.max(real.sequencesPerExample, sequencesPerExample);
  }
  return { bound, real };
}

// 'क़ख़' is 6 UTF-8 bytes and 12 in NFC, Qwen2's normalisation: byte-level BPE may make 12 tokens of it.
const UNICODE = ['naïve café — déjà vu', '東京の夜は美しい', 'emoji 🎬🍿 film!', 'Ünïcödé ½ ∑ ≠ ∞', ' spaces   and\ttabs\n', 'क़ख़', 'Q'];

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

  // SentencePiece makes two tokens of a one-byte word ('▁' and 'A'): a sequence per label even then.
  const oneByteWords: TaskSpec = { kind: 'classification', template: '{text} =', labelWords: { a: 'A', b: 'B' } };
  const oneByte = assertBounds(oneByteWords, rows([{ text: 'x', label: 'a' }]), 4);
  assert.equal(oneByte.real.sequencesPerExample, 2);
  assert.equal(oneByte.bound.sequencesPerExample, 2);
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

test('checkInputRoom refuses whatever an encoder would refuse, naming what takes the room', () => {
  const encoderOf = (name: keyof typeof FOLDERS, spec: TaskSpec, promptRows: number) => () =>
    new TaskEncoder(spec, tokenizers.get(name)!, { maxPositions: MAX_POSITIONS, promptRows });
  const roomOf = (spec: TaskSpec, promptRows: number) => () => checkInputRoom(spec, { maxPositions: MAX_POSITIONS, promptRows });
  const target = (maxTargetTokens: number): TaskSpec => ({ kind: 'text-to-text', template: '{q}', maxTargetTokens });

  for (const name of tokenizers.keys()) {
    for (let maxTargetTokens = 119; maxTargetTokens <= 124; maxTargetTokens++) {
      let refused = false;
      try {
        encoderOf(name, target(maxTargetTokens), 4)();
      } catch {
        refused = true;
      }
      if (refused) assert.throws(roomOf(target(maxTargetTokens), 4), `${name} refuses maxTargetTokens = ${maxTargetTokens}`);
    }
  }
  assert.throws(encoderOf('gpt2-mini', target(124), 4), /: 4 prompt rows and maxTargetTokens = 124 \(at most 123 here\) leave no room for input in 128 positions$/);
  assert.doesNotThrow(encoderOf('gpt2-mini', target(123), 4));
  assert.throws(encoderOf('llama', target(123), 4), /: 4 prompt rows and maxTargetTokens = 123 \(at most 122 here\) leave no room for input in 128 positions, 1 kept for special tokens$/);
  // Without a tokenizer, room is kept for the most special tokens a tokenizer puts around an input.
  assert.throws(roomOf(target(122), 4), /: 4 prompt rows and maxTargetTokens = 122 \(at most 121 here\) leave no room for input in 128 positions, 2 kept for special tokens$/);
  assert.doesNotThrow(roomOf(target(121), 4));
  assert.throws(roomOf(target(512), 20), /20 prompt rows and maxTargetTokens = 512 \(at most 105 here\)/);

  assert.throws(roomOf(TASK_CATALOG.sst2.task, 128), /: 128 prompt rows and a label word of up to 10 tokens leave no room/);
  // Without a tokenizer a label word counts a token per byte of its longest normalization form, and one for SentencePiece's '▁':
  // refused where an encoder might fail.
  const wide: TaskSpec = { kind: 'classification', template: '{text}', labelWords: { a: ' é'.repeat(30), b: ' no' } }; // 90 bytes, 120 in NFD
  assert.throws(roomOf(wide, 6), /6 prompt rows and a label word of up to 121 tokens leave no room for input in 128 positions, 2 kept for special tokens$/);
  assert.doesNotThrow(roomOf(wide, 5));
});
