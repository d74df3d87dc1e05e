/**
 * TaskEncoder with the special tokens of real tokenizer layouts: a model input gets exactly the
 * ids Hugging Face's `tokenizer(text)` gives (Llama's BOS, T5's EOS), label words and targets get
 * none, and cutting an input keeps them where they are.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { TASK_CATALOG } from '../../src/engine/tasks/task-catalog.js';
import { TaskEncoder } from '../../src/engine/tasks/task-encoder.js';
import type { TaskSpec } from '../../src/engine/tasks/task-spec.js';
import { loadTokenizer, type TextTokenizer } from '../../src/engine/tokenizer.js';
import { MODELS_DIR, readJsonFixture } from '../helpers/shared.js';
import { TOKENIZER_FIXTURES, tokenizerCases, type TokenizerCase } from '../helpers/tokenizer-fixtures.js';

let llama: TextTokenizer;
let qwen2: TextTokenizer;
let t5: TextTokenizer;
before(async () => {
  [llama, qwen2, t5] = await Promise.all([loadTokenizer(TOKENIZER_FIXTURES.llama), loadTokenizer(TOKENIZER_FIXTURES.qwen2), loadTokenizer(join(MODELS_DIR, 'tiny-t5-random'))]);
});

const encoder = (tokenizer: TextTokenizer, spec: TaskSpec, maxPositions = 4096, promptRows = 4, truncate = true) =>
  new TaskEncoder(spec, tokenizer, { maxPositions, promptRows, truncate });
const plain: TaskSpec = { kind: 'text-to-text', template: '{text}', maxTargetTokens: 8 };

test('an input is what tokenizer(text) gives: the references of Llama (BOS), Qwen2 (none) and T5 (EOS)', () => {
  const t5Cases = readJsonFixture<{ tokenizer: TokenizerCase[] }>('t5.json').tokenizer;
  const references: Array<[TextTokenizer, TokenizerCase[]]> = [[llama, tokenizerCases('llama')], [qwen2, tokenizerCases('qwen2')], [t5, t5Cases]];
  for (const [tokenizer, cases] of references) {
    const enc = encoder(tokenizer, plain);
    for (const { text, input_ids } of cases.filter((c) => c.ids.length > 0)) assert.deepEqual(enc.encodeInput({ text }), input_ids, JSON.stringify(text));
  }
});

test('Llama: one BOS in front of the input, even with the post-processor that adds it; none on label words or targets', () => {
  const enc = encoder(llama, TASK_CATALOG.sst2.task);
  const input = enc.encodeInput({ text: 'a fine film' });
  assert.deepEqual(input, [1, ...llama.encode('a fine film It was')]);
  assert.equal(input.filter((id) => id === 1).length, 1);
  assert.ok(enc.labelTokens.every((word) => word[0] !== 1));
  const { target } = encoder(llama, plain).encodeExample({ line: 1, fields: { text: 'question', target: ' answer' } });
  assert.equal(target!.at(-1), 2);
  assert.ok(!target!.includes(1));
});

test('label words and targets are the tokens they add after the input: SentencePiece gets no lone "▁" in front', () => {
  // Encoded alone, " great" is a lone '▁' (the text's start) and then '▁great', the word as it follows another.
  const [lone, ...word] = llama.encode(' great');
  assert.deepEqual(word, llama.encode('great'));
  const enc = encoder(llama, TASK_CATALOG.sst2.task);
  const inContext = (word: string) => llama.encode(`a fine film It was${word}`).slice(llama.encode('a fine film It was').length);
  assert.deepEqual(enc.labelTokens, [inContext(' terrible'), inContext(' great')]);
  assert.deepEqual(enc.labelTokens[1], word);
  assert.ok(enc.labelTokens.every((word) => word[0] !== lone));
  const { target } = encoder(llama, plain).encodeExample({ line: 1, fields: { text: 'question', target: ' answer' } });
  assert.deepEqual(target, [...llama.encode('question answer').slice(llama.encode('question').length), 2]);
  // Byte-level BPE (GPT-2's, Qwen2's) keeps a word's space in its first token: a continuation is the word's own tokens.
  for (const tokenizer of [qwen2]) {
    assert.deepEqual(encoder(tokenizer, TASK_CATALOG.sst2.task).labelTokens, [tokenizer.encode(' terrible'), tokenizer.encode(' great')]);
  }
  // A word that starts without a space is its own tokens (T5's "positive" is ▁positive either way).
  assert.deepEqual(t5.encodeContinuation('positive'), t5.encode('positive'));
});

test('a cut input keeps its special tokens where they are and the end of its text', () => {
  const text = 'word '.repeat(300) + 'It was';
  for (const [tokenizer, where] of [[llama, 'before'], [t5, 'after']] as const) {
    const enc = encoder(tokenizer, plain, 64, 4);
    const input = enc.encodeInput({ text });
    const { before, after } = tokenizer.inputSpecialTokens;
    assert.equal(input.length, enc.maxInputTokens, where);
    const room = enc.maxInputTokens - before.length - after.length;
    assert.deepEqual(input, [...before, ...tokenizer.encode(text).slice(-room), ...after], where);
    assert.equal((where === 'before' ? before : after).length, 1);
  }
  const count = llama.encode(text).length + 1;
  assert.throws(() => encoder(llama, plain, 64, 4, false).encodeInput({ text }, 'line 3'), new RegExp(`^EngineError: line 3: ${count} input tokens exceed the 52 that fit beside the prompt$`));
});

test('room for the special tokens and a token of text, or SEQUENCE_TOO_LONG saying what is kept for them', () => {
  const tight: TaskSpec = { kind: 'text-to-text', template: '{text}', maxTargetTokens: 11 };
  assert.equal(encoder(qwen2, tight, 16, 4).maxInputTokens, 1);
  assert.throws(() => encoder(llama, tight, 16, 4), /4 prompt rows and maxTargetTokens = 11 \(at most 10 here\) leave no room for input in 16 positions, 1 kept for special tokens$/);
  assert.equal(encoder(llama, { ...tight, maxTargetTokens: 10 }, 16, 4).encodeInput({ text: 'a long input of several words' }).length, 2);
});
