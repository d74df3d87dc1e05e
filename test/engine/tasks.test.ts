import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { classify, generate } from '../../src/engine/infer.js';
import { flatLabelScores } from '../../src/engine/tasks/classification.js';
import { TaskEncoder } from '../../src/engine/tasks/task-encoder.js';
import { fillTemplate, templateFields } from '../../src/engine/tasks/template.js';
import type { TaskSpec } from '../../src/engine/tasks/task-spec.js';
import { targetLoss } from '../../src/engine/tasks/text-to-text.js';
import { tf } from '../../src/engine/tf.js';
import { allPositionsHidden, loadGpt2Mini, type LoadedModel } from '../helpers/engine-fixtures.js';
import { TASK_CATALOG } from '../../src/engine/tasks/task-catalog.js';

let loaded: LoadedModel;
before(async () => {
  loaded = await loadGpt2Mini();
});
after(() => loaded.model.dispose());

const encoder = (spec: TaskSpec = TASK_CATALOG.sst2.task, promptRows = 4, truncate = true) =>
  new TaskEncoder(spec, loaded.tokenizer, { maxPositions: loaded.model.dims.maxPositions, promptRows, truncate });

/** log p(token | ids) at every position, from full-vocabulary logits: the reference for the task code. */
async function logProbsAfter(ids: readonly number[], prompt: tf.Tensor2D): Promise<(position: number, token: number) => number> {
  const { hidden, T } = allPositionsHidden(loaded.model, [{ prompt, ids }]);
  const logProbs = tf.tidy(() => tf.logSoftmax(loaded.model.logits(tf.reshape(hidden, [T, -1]) as tf.Tensor2D)));
  const data = await logProbs.data();
  tf.dispose([hidden, logProbs]);
  const V = loaded.model.dims.vocabSize;
  return (position, token) => data[(prompt.shape[0] + position) * V + token]!;
}

test('templates fill pair fields and report the first missing one', () => {
  const template = TASK_CATALOG.rte.task.template;
  assert.deepEqual(templateFields(template), ['premise', 'hypothesis']);
  assert.deepEqual(fillTemplate(template, { premise: 'A dog runs.', hypothesis: 'An animal moves.' }), {
    text: 'A dog runs. Question: An animal moves. True or False? Answer:',
  });
  assert.deepEqual(fillTemplate(template, { premise: 'A dog runs.' }), { missing: 'hypothesis' });
});

test('the encoder maps labels, and refuses unknown labels and missing fields with the line', () => {
  const enc = encoder();
  const example = enc.encodeExample({ line: 2, fields: { text: 'a fine film', label: '1' } });
  assert.equal(example.label, 1);
  assert.deepEqual(example.input, loaded.tokenizer.encode('a fine film It was'));
  assert.throws(() => enc.encodeExample({ line: 7, fields: { text: 'x', label: '2' } }), /line 7: unknown label "2" \(known: 0, 1\)/);
  assert.throws(() => enc.encodeExample({ line: 9, fields: { sentence: 'x', label: '1' } }), /line 9: no field "text" for the template/);
  assert.throws(() => enc.encodeExample({ line: 3, fields: { text: 'x' } }), /line 3: no label field "label"/);
  assert.throws(() => enc.encodeAll([]), /the dataset has no examples/);
});

test('over-long inputs are cut from the left, keeping the template end, or refused', () => {
  const long = { text: 'word '.repeat(200) };
  const kept = encoder().encodeInput(long);
  assert.equal(kept.length, loaded.model.dims.maxPositions - 4);
  assert.deepEqual(kept.slice(-2), loaded.tokenizer.encode(' It was'));
  assert.throws(() => encoder(TASK_CATALOG.sst2.task, 4, false).encodeInput(long, 'line 5'), /line 5: 203 input tokens exceed the 124 that fit beside the prompt/);
});

test('single-token label scores are the label words’ log-probabilities at the last input token, less its log-partition (one constant per input)', async () => {
  const prompt = tf.randomNormal([4, 256], 0, 0.1, 'float32', 1) as tf.Tensor2D;
  const enc = encoder(TASK_CATALOG.ag_news.task);
  const input = enc.encodeInput({ text: 'Stocks fell sharply on Wall Street today.' });
  const scores = await flatLabelScores(loaded.model, [{ prompt, input, labelTokens: enc.labelTokens }]).data();
  const logProb = await logProbsAfter(input, prompt);
  const expected = enc.labelTokens.map(([token]) => logProb(input.length - 1, token!));
  // score − log p is the log-partition of the vocabulary at that token: the same for every label, and positive for logits this spread.
  const offsets = expected.map((e, k) => scores[k]! - e);
  assert.ok(Math.max(...offsets) - Math.min(...offsets) < 1e-4, `offsets ${offsets.join(', ')}`);
  assert.ok(offsets[0]! > 1, `the log-partition ${offsets[0]} is left out, not added`);
  prompt.dispose();
});

test('a multi-token label word scores the sum of its tokens’ log-probabilities', async () => {
  const prompt = tf.randomNormal([3, 256], 0, 0.1, 'float32', 2) as tf.Tensor2D;
  const enc = encoder({ kind: 'classification', template: '{text} It was', labelWords: { bad: ' dreadful', good: ' great' } }, 3);
  assert.ok(enc.labelTokens[0]!.length > 1, 'the test needs a word of several tokens');
  const input = enc.encodeInput({ text: 'a fine film' });
  const scores = await flatLabelScores(loaded.model, [{ prompt, input, labelTokens: enc.labelTokens }]).data();
  for (const [k, word] of enc.labelTokens.entries()) {
    const logProb = await logProbsAfter([...input, ...word.slice(0, -1)], prompt);
    const expected = word.reduce((sum, token, j) => sum + logProb(input.length - 1 + j, token), 0);
    assert.ok(Math.abs(expected - scores[k]!) < 1e-4, `label ${k}: ${scores[k]} vs ${expected}`);
  }
  prompt.dispose();
});

test('one batch classifies rows with different prompts and label sets as if each ran alone', async () => {
  const first = tf.randomNormal([4, 256], 0, 0.1, 'float32', 3) as tf.Tensor2D;
  const second = tf.randomNormal([9, 256], 0, 0.1, 'float32', 4) as tf.Tensor2D;
  const sst2 = encoder();
  const agnews = encoder(TASK_CATALOG.ag_news.task, 9);
  const requests = [
    { prompt: first, input: sst2.encodeInput({ text: 'a dull , lifeless film' }), labels: sst2.labels, labelTokens: sst2.labelTokens },
    { prompt: second, input: agnews.encodeInput({ text: 'Stocks fell sharply on Wall Street today.' }), labels: agnews.labels, labelTokens: agnews.labelTokens },
  ];
  const together = await classify(loaded.model, requests);
  for (const [i, request] of requests.entries()) {
    const [alone] = await classify(loaded.model, [request]);
    assert.equal(together[i]!.label, alone!.label);
    for (const label of request.labels) assert.ok(Math.abs(together[i]!.probabilities[label]! - alone!.probabilities[label]!) < 1e-5);
    assert.ok(Math.abs(Object.values(together[i]!.probabilities).reduce((a, b) => a + b, 0) - 1) < 1e-5);
  }
  assert.deepEqual(Object.keys(together[1]!.probabilities), ['1', '2', '3', '4']);
  tf.dispose([first, second]);
});

test('text-to-text: the loss covers only target tokens, and greedy generation follows the argmax', async () => {
  const prompt = tf.randomNormal([2, 256], 0, 0.1, 'float32', 5) as tf.Tensor2D;
  const enc = encoder({ kind: 'text-to-text', template: 'Q: {question} A:', maxTargetTokens: 8 }, 2);
  const example = enc.encodeExample({ line: 1, fields: { question: 'what colour is the sky', target: ' blue' } });
  assert.equal(example.target!.at(-1), loaded.tokenizer.eosTokenId);
  const loss = targetLoss(loaded.model, prompt, [{ input: example.input, target: example.target! }]);
  const logProb = await logProbsAfter([...example.input, ...example.target!.slice(0, -1)], prompt);
  const expected = -example.target!.reduce((sum, token, j) => sum + logProb(example.input.length - 1 + j, token), 0) / example.target!.length;
  assert.ok(Math.abs((await loss.data())[0]! - expected) < 1e-4);
  loss.dispose();

  const [generated] = await generate(loaded.model, [{ prompt, input: example.input }], { maxNewTokens: 3, stopTokenIds: [] });
  assert.equal(generated!.length, 3);
  const first = await logProbsAfter(example.input, prompt);
  const scores = Array.from({ length: loaded.model.dims.vocabSize }, (_, token) => first(example.input.length - 1, token));
  assert.equal(generated![0], scores.indexOf(Math.max(...scores)));
  // Generation stops at any of the end-of-sequence ids (Llama 3's and Qwen2-Instruct's are several).
  const stop = generated![1]!;
  const [stopped] = await generate(loaded.model, [{ prompt, input: example.input }], { maxNewTokens: 3, stopTokenIds: [-1, stop] });
  assert.deepEqual(stopped, generated!.slice(0, generated!.indexOf(stop)));
  prompt.dispose();
});
