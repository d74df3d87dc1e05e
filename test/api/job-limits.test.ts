/**
 * A deployment's job limits, checked at submit: steps, epochs, token positions per batch,
 * training rows, validation rows × evaluations; and the submit-time checks that used to pass jobs
 * a worker then failed (inherited label names, maxTargetTokens past the model's positions).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.js';
import { DEFAULT_JOB_LIMITS } from '../../src/api/job-limits.js';
import { startTestService, type TestService } from '../helpers/service.js';

const LIMITS = {
  LOPT_MAX_JOB_STEPS: '50',
  LOPT_MAX_JOB_EPOCHS: '5',
  LOPT_MAX_BATCH_TOKENS: '2048',
  LOPT_MAX_TRAIN_ROWS: '40',
  LOPT_MAX_EVAL_ROWS_TOTAL: '100',
};
const SST2 = { kind: 'classification', template: '{text} It was', labelWords: { '0': ' terrible', '1': ' great' } };

let service: TestService;
let key: string;
before(async () => {
  service = await startTestService(LIMITS);
  key = await service.newKey();
});
after(() => service.close());

/** `count` inline rows of `text`, labels alternating. */
const examples = (count: number, text = 'a fine film') => Array.from({ length: count }, (_, i) => ({ text, label: String(i % 2) }));
const job = (body: Record<string, unknown>) => ({ model: 'gpt2-mini', task: SST2, method: 'pt', n: 4, examples: examples(20), ...body });

/** Submits `job(changes)`. */
async function submit(changes: Record<string, unknown>) {
  const response = await service.app.inject({ method: 'POST', url: '/v1/jobs', headers: { authorization: `Bearer ${key}` }, payload: job(changes) });
  return { status: response.statusCode, body: response.json() as { id: string; spec: { training: Record<string, unknown> }; error: { code: string; message: string; details?: unknown } } };
}

async function assertTooLarge(changes: Record<string, unknown>, details: { limit: string; setting: string; value: number; max: number }, message: RegExp) {
  const { status, body: answer } = await submit(changes);
  assert.equal(status, 400, JSON.stringify(answer));
  assert.equal(answer.error.code, 'JOB_TOO_LARGE');
  assert.deepEqual(answer.error.details, details);
  assert.match(answer.error.message, message);
  assert.match(answer.error.message, new RegExp(`over this deployment's limit of ${details.max} \\(${details.setting}\\)`));
}

async function assertAccepted(changes: Record<string, unknown>) {
  const { status, body: answer } = await submit(changes);
  assert.equal(status, 202, JSON.stringify(answer));
  return answer;
}

test('training steps: epochs × batches or maxSteps, at most LOPT_MAX_JOB_STEPS', async () => {
  // 20 rows, 2 held out: 18 to train on, 5 batches of 4 an epoch.
  await assertTooLarge({ hyperparameters: { batchSize: 4, maxSteps: 51 } }, { limit: 'maxSteps', setting: 'LOPT_MAX_JOB_STEPS', value: 51, max: 50 }, /^training steps = 51, .*: lower maxSteps or epochs/);
  await assertAccepted({ hyperparameters: { batchSize: 4, maxSteps: 50 } });
  // 44 rows, 4 held out: 14 batches of 3 an epoch.
  await assertTooLarge({ examples: examples(44), hyperparameters: { batchSize: 3, epochs: 5 } }, { limit: 'maxSteps', setting: 'LOPT_MAX_JOB_STEPS', value: 70, max: 50 }, /^training steps = 70/);
  // maxSteps cuts a run of many epochs short: 5 epochs asked, 12 steps run.
  await assertAccepted({ examples: examples(44), hyperparameters: { batchSize: 3, epochs: 5, maxSteps: 12 } });
});

test('epochs asked for: at most LOPT_MAX_JOB_EPOCHS', async () => {
  await assertTooLarge({ hyperparameters: { batchSize: 16, epochs: 6 } }, { limit: 'maxEpochs', setting: 'LOPT_MAX_JOB_EPOCHS', value: 6, max: 5 }, /^epochs = 6/);
  await assertAccepted({ hyperparameters: { batchSize: 16, epochs: 5 } });
});

test('token positions of a batch: examples × sequences × the longest sequence bound, at most LOPT_MAX_BATCH_TOKENS; evaluation batches are fitted', async () => {
  // 200 bytes of text: every sequence may fill the model's 128 positions; " terrible" may be several tokens, so 2 sequences an example.
  const long = { examples: examples(20, 'x'.repeat(200)), validationFraction: 0.5 }; // 10 rows to train on, 10 to evaluate
  await assertTooLarge(
    { ...long, hyperparameters: { batchSize: 9, maxSteps: 1 } },
    { limit: 'maxBatchTokens', setting: 'LOPT_MAX_BATCH_TOKENS', value: 9 * 2 * 128, max: 2048 },
    /^token positions of a training batch \(9 examples × 2 sequences \(one per label: a label word may take several tokens\) × up to 128 positions, prompt rows included\) = 2304.*lower batchSize or n/,
  );
  const fitted = await assertAccepted({ ...long, hyperparameters: { batchSize: 8, maxSteps: 1 } });
  assert.equal(fitted.spec.training.evalBatchSize, 8, 'an evaluation batch of all 10 rows would hold 2560 positions');

  // Short rows: n 4 + 2 special tokens (a BOS, an EOS) + "a fine film It was" (18 bytes, and a '▁' in front)
  // + " terrible" (9 bytes and a '▁') but its last token = 4 + 2 + 19 + 9 = 34 positions.
  // 40 rows, 4 held out: 36 to train on. A batch never holds more than there are.
  await assertAccepted({ hyperparameters: { batchSize: 64, maxSteps: 1 } });
  await assertTooLarge(
    { examples: examples(40), hyperparameters: { batchSize: 31, maxSteps: 1 } },
    { limit: 'maxBatchTokens', setting: 'LOPT_MAX_BATCH_TOKENS', value: 31 * 2 * 34, max: 2048 },
    /up to 34 positions/,
  );
  const short = await assertAccepted({ examples: examples(40), hyperparameters: { batchSize: 30, maxSteps: 1 } });
  assert.equal(short.spec.training.evalBatchSize, undefined, 'the default evaluation batch fits: the spec stays as asked');
});

test('training rows: those left after the validation share, at most LOPT_MAX_TRAIN_ROWS', async () => {
  await assertTooLarge({ examples: examples(82), validationFraction: 0.5, hyperparameters: { maxSteps: 1 } }, { limit: 'maxTrainRows', setting: 'LOPT_MAX_TRAIN_ROWS', value: 41, max: 40 }, /^training rows = 41/);
  await assertAccepted({ examples: examples(80), validationFraction: 0.5, hyperparameters: { maxSteps: 1 } });
});

test('validation rows × evaluations (every evalEvery steps and at the end), at most LOPT_MAX_EVAL_ROWS_TOTAL', async () => {
  // 20 rows, half held out: 10 validation rows.
  const body = (evalEvery: number, maxSteps: number) => ({ validationFraction: 0.5, hyperparameters: { batchSize: 4, maxSteps, evalEvery } });
  await assertTooLarge(body(1, 11), { limit: 'maxEvaluationRows', setting: 'LOPT_MAX_EVAL_ROWS_TOTAL', value: 110, max: 100 }, /^validation rows × evaluations \(10 × 11\) = 110.*evalEvery/);
  await assertTooLarge(body(3, 31), { limit: 'maxEvaluationRows', setting: 'LOPT_MAX_EVAL_ROWS_TOTAL', value: 110, max: 100 }, /\(10 × 11\)/); // 10 on the way, 1 at the end
  await assertAccepted(body(3, 30));
  await assertAccepted(body(0, 50)); // at the end only
});

test('labels are own keys of labelWords: "constructor" and "toString" are unknown labels, refused at submit', async () => {
  for (const label of ['constructor', 'toString', '__proto__']) {
    const { status, body } = await submit({ examples: [...examples(3), { text: 'odd', label }] });
    assert.equal(status, 400, JSON.stringify(body));
    assert.equal(body.error.code, 'DATASET_INVALID');
    assert.match(body.error.message, new RegExp(`line 4: unknown label "${label}" \\(known: 0, 1\\)`));
  }
});

test('maxTargetTokens past the room the model has beside n is refused at submit, saying how much fits', async () => {
  const task = { kind: 'text-to-text', template: 'Q: {question} A:', maxTargetTokens: 512 };
  const { status, body } = await submit({ task, n: 20, examples: [{ question: 'two and two', target: 'four' }, { question: 'one and one', target: 'two' }] });
  assert.equal(status, 400, JSON.stringify(body));
  assert.equal(body.error.code, 'SEQUENCE_TOO_LONG');
  assert.equal(body.error.message, '20 prompt rows and maxTargetTokens = 512 (at most 105 here) leave no room for input in 128 positions, 2 kept for special tokens');
  await assertAccepted({ task: { ...task, maxTargetTokens: 105 }, n: 20, examples: [{ question: 'two and two', target: 'four' }, { question: 'one and one', target: 'two' }] });
});

test('the limits come from the environment, with defaults, and bad values are refused', () => {
  assert.deepEqual(loadConfig({}).jobLimits, DEFAULT_JOB_LIMITS);
  assert.deepEqual(loadConfig(LIMITS).jobLimits, { maxSteps: 50, maxEpochs: 5, maxBatchTokens: 2048, maxTrainRows: 40, maxEvaluationRows: 100 });
  assert.throws(() => loadConfig({ LOPT_MAX_BATCH_TOKENS: '0' }), (err: Error) => err instanceof ConfigError && /LOPT_MAX_BATCH_TOKENS must be an integer/.test(err.message));
});
